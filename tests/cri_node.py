"""A Kubernetes node for the tests: a containerd of our own with its CRI, and a small
kubelet that turns Pod manifests into the CRI calls the real kubelet makes.

The containerd is a second instance with its own config, root, state directory and
socket under a temporary directory; Docker's containerd is never touched (see
MACHINE.md, "containerd's CRI"). Networking is loopback only, through a tiny CNI
plugin of ours (``harden-lo``) that runs the stock ``loopback`` plugin and reports
``lo`` as ``eth0`` (containerd 1.6 wants an IP on eth0). Images come from Docker:
``docker save | ctr import``. Containers run in cgroups under a parent of our own
(``/harden-test-<hex>/kubepods/pod<uid>``), removed when the node stops.

The kubelet part (:class:`Kubelet`) follows kubelet's ``kuberuntime`` package for the
fields the test pods use: sandbox namespace options (hostNetwork/PID/IPC), pod-level
sysctls and port mappings, container security contexts (pod-level fields inherited,
``allowPrivilegeEscalation: false`` as no_new_privs, the default masked paths unless
``procMount: Unmasked``, Unconfined seccomp for an unset profile, the image's uid as
``run_as_user`` when none is set), resources (cpu quota/shares, memory), volumes as
directories under its root (``pods/<uid>/volumes/kubernetes.io~<plugin>/<name>``) or
hostPath, ``/etc/hosts`` and the termination-message file, and its labels and
annotations (``io.kubernetes.*``). It is a test tool, not a kubelet.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from harden.audit.sources.located import DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, quantity
from harden.system.cri.api import api_pb2 as pb
from harden.system.cri.api import api_pb2_grpc as rpc

PREFIX = "harden-test-"
CNI_PLUGIN = """#!/bin/sh
# harden's test CNI plugin: the stock loopback plugin, its result's "lo" reported as
# "eth0" (containerd 1.6 looks for the pod IP on eth0). No interface is created.
out=$("$(dirname "$0")/loopback") || { printf '%s' "$out"; exit 1; }
printf '%s' "$out" | sed 's/"name": *"lo"/"name": "eth0"/'
"""
CONFIG = """version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.internal.v1.tracing", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.aufs"]
[grpc]
  address = "{d}/containerd.sock"
[ttrpc]
  address = "{d}/containerd.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  disable_apparmor = true
  enable_selinux = false
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  sandbox_image = "{pause}"
  stream_server_address = "127.0.0.1"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{d}/cni/bin"
    conf_dir = "{d}/cni/conf"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{d}/state/runc"
"""
_APPLETS = ("sh", "sleep", "cat", "ls", "id", "true")


def _rootfs_tar(path: Path) -> None:
    """A busybox root file system (the same for the workload and the sandbox image)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        raise RuntimeError("busybox-static is needed for the CRI test images")
    root = path.parent / "rootfs"
    for sub in ("bin", "etc", "proc", "sys", "dev", "tmp", "data"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, root / "bin" / "busybox")
    for applet in _APPLETS:
        link = root / "bin" / applet
        if not link.exists():
            link.symlink_to("busybox")
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/:/bin/sh\napp:x:1000:1000::/:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\napp:x:1000:\n")
    (root / "tmp").chmod(0o1777)
    with tarfile.open(path, "w") as tar:
        tar.add(root, arcname=".")


class Containerd:
    """A containerd with the CRI plugin, in ``base``, until :meth:`stop`."""

    def __init__(self, base: Path, docker: Any) -> None:
        self.base = base
        self.docker = docker
        self.socket = str(base / "containerd.sock")
        self.tag = uuid.uuid4().hex[:10]
        self.pause = f"{PREFIX}pause-{self.tag}:1"
        self.image = f"{PREFIX}cri-{self.tag}:1"
        self.cgroup_root = f"/{PREFIX}{self.tag}"
        self.process: subprocess.Popen[bytes] | None = None
        self._log: Any = None

    def start(self) -> None:
        cni = self.base / "cni"
        (cni / "bin").mkdir(parents=True)
        (cni / "conf").mkdir()
        shutil.copy2("/usr/lib/cni/loopback", cni / "bin" / "loopback")
        plugin = cni / "bin" / "harden-lo"
        plugin.write_text(CNI_PLUGIN)
        plugin.chmod(0o755)
        (cni / "conf" / "10-harden.conflist").write_text(
            json.dumps(
                {
                    "cniVersion": "0.4.0",
                    "name": "harden-loopback",
                    "plugins": [{"type": "harden-lo"}],
                }
            )
        )
        config = self.base / "config.toml"
        config.write_text(CONFIG.format(d=self.base, pause=self.pause))
        self._log = (self.base / "containerd.log").open("wb")
        self.process = subprocess.Popen(
            ["containerd", "--config", str(config)], stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                log = (self.base / "containerd.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"containerd did not start:\n{log}")
            time.sleep(0.1)
        self._import_images()

    def _answers(self) -> bool:
        if not Path(self.socket).exists():
            return False
        with grpc.insecure_channel(f"unix://{self.socket}") as channel:
            try:
                rpc.RuntimeServiceStub(channel).Version(pb.VersionRequest(), timeout=2)
            except grpc.RpcError:
                return False
        return True

    def _import_images(self) -> None:
        tar = self.base / "rootfs.tar"
        _rootfs_tar(tar)
        for name, entry in ((self.pause, ["/bin/sleep", "infinity"]), (self.image, ["/bin/sh"])):
            repo, tag = name.split(":")
            with tar.open("rb") as handle:
                self.docker.api.import_image_from_data(
                    handle.read(),
                    repository=repo,
                    tag=tag,
                    changes=[f"ENTRYPOINT {json.dumps(entry)}"],
                )
        try:
            with subprocess.Popen(
                ["docker", "save", self.pause, self.image], stdout=subprocess.PIPE
            ) as save:
                subprocess.run(
                    ["ctr", "-a", self.socket, "-n", "k8s.io", "images", "import", "-"],
                    stdin=save.stdout,
                    check=True,
                    capture_output=True,
                )
            if save.returncode != 0:
                raise RuntimeError("docker save of the test images failed")
        finally:
            for name in (self.pause, self.image):
                with contextlib.suppress(Exception):
                    self.docker.images.remove(name, force=True)

    def ctr(self, *args: str, namespace: str = "k8s.io") -> str:
        done = subprocess.run(
            ["ctr", "-a", self.socket, "-n", namespace, *args],
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout

    def stop(self) -> None:
        """Remove every pod and container, stop containerd, unmount and remove what it left."""
        if self.process is not None and self.process.poll() is None:
            with (
                contextlib.suppress(Exception),
                grpc.insecure_channel(f"unix://{self.socket}") as ch,
            ):
                stub = rpc.RuntimeServiceStub(ch)
                for sandbox in stub.ListPodSandbox(pb.ListPodSandboxRequest(), timeout=30).items:
                    stub.StopPodSandbox(
                        pb.StopPodSandboxRequest(pod_sandbox_id=sandbox.id), timeout=60
                    )
                    stub.RemovePodSandbox(
                        pb.RemovePodSandboxRequest(pod_sandbox_id=sandbox.id), timeout=60
                    )
            with contextlib.suppress(Exception):
                self._remove_namespace("moby")
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log is not None:
            self._log.close()
        self._unmount()
        _remove_cgroups(self.cgroup_root)

    def _remove_namespace(self, namespace: str) -> None:
        for task in self.ctr("tasks", "ls", "-q", namespace=namespace).split():
            subprocess.run(
                ["ctr", "-a", self.socket, "-n", namespace, "tasks", "kill", "-s", "KILL", task],
                capture_output=True,
                check=False,
            )
            time.sleep(0.2)
            subprocess.run(
                ["ctr", "-a", self.socket, "-n", namespace, "tasks", "delete", "-f", task],
                capture_output=True,
                check=False,
            )
        for container in self.ctr("containers", "ls", "-q", namespace=namespace).split():
            self.ctr("containers", "delete", container, namespace=namespace)

    def _unmount(self) -> None:
        base = str(self.base)
        points = [
            line.split()[4]
            for line in Path("/proc/self/mountinfo").read_text().splitlines()
            if line.split()[4].startswith(base)
        ]
        for point in sorted(points, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True, check=False)


def _remove_cgroups(root: str) -> None:
    for hierarchy in Path("/sys/fs/cgroup").iterdir():
        top = hierarchy / root.lstrip("/")
        if not top.is_dir():
            continue
        for directory in sorted(
            (p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)
        ):
            with contextlib.suppress(OSError):
                directory.rmdir()
        with contextlib.suppress(OSError):
            top.rmdir()


@dataclass
class Pod:
    name: str
    namespace: str
    uid: str
    sandbox_id: str
    containers: dict[str, str] = field(default_factory=dict)  # name -> container id


_NS = {False: pb.POD, True: pb.NODE}
_PROFILE = {
    "RuntimeDefault": pb.SecurityProfile.RuntimeDefault,
    "Unconfined": pb.SecurityProfile.Unconfined,
    "Localhost": pb.SecurityProfile.Localhost,
}


class Kubelet:
    """Runs Pod manifests on a :class:`Containerd` through the CRI, as the kubelet would."""

    def __init__(self, node: Containerd) -> None:
        self.node = node
        self.root = node.base / "kubelet"
        self.channel = grpc.insecure_channel(f"unix://{node.socket}")
        self.runtime = rpc.RuntimeServiceStub(self.channel)

    def run(self, manifest: dict[str, Any]) -> Pod:
        meta, spec = manifest["metadata"], manifest["spec"]
        uid = str(uuid.uuid4())
        pod = Pod(meta["name"], meta.get("namespace", "default"), uid, "")
        config = self._sandbox_config(pod, meta, spec)
        pod.sandbox_id = self.runtime.RunPodSandbox(
            pb.RunPodSandboxRequest(config=config), timeout=60
        ).pod_sandbox_id
        for container in spec["containers"]:
            request = pb.CreateContainerRequest(
                pod_sandbox_id=pod.sandbox_id,
                config=self._container_config(pod, spec, container),
                sandbox_config=config,
            )
            cid = self.runtime.CreateContainer(request, timeout=60).container_id
            self.runtime.StartContainer(pb.StartContainerRequest(container_id=cid), timeout=60)
            pod.containers[container["name"]] = cid
        return pod

    def remove(self, pod: Pod) -> None:
        self.runtime.StopPodSandbox(
            pb.StopPodSandboxRequest(pod_sandbox_id=pod.sandbox_id), timeout=60
        )
        self.runtime.RemovePodSandbox(
            pb.RemovePodSandboxRequest(pod_sandbox_id=pod.sandbox_id), timeout=60
        )

    def _namespaces(self, spec: dict[str, Any]) -> pb.NamespaceOption:
        pid = (
            pb.NODE
            if spec.get("hostPID")
            else (pb.POD if spec.get("shareProcessNamespace") else pb.CONTAINER)
        )
        return pb.NamespaceOption(
            network=_NS[bool(spec.get("hostNetwork"))], pid=pid, ipc=_NS[bool(spec.get("hostIPC"))]
        )

    def _sandbox_config(
        self, pod: Pod, meta: dict[str, Any], spec: dict[str, Any]
    ) -> pb.PodSandboxConfig:
        psc = spec.get("securityContext", {})
        labels = {str(k): str(v) for k, v in meta.get("labels", {}).items()}
        labels.update(
            {
                "io.kubernetes.pod.name": pod.name,
                "io.kubernetes.pod.namespace": pod.namespace,
                "io.kubernetes.pod.uid": pod.uid,
            }
        )
        ports = [
            pb.PortMapping(
                protocol=pb.TCP,
                container_port=p.get("containerPort", 0),
                host_port=p.get("hostPort", 0),
                host_ip=p.get("hostIP", ""),
            )
            for c in spec["containers"]
            for p in c.get("ports", [])
        ]
        security = pb.LinuxSandboxSecurityContext(
            namespace_options=self._namespaces(spec),
            privileged=any(
                c.get("securityContext", {}).get("privileged") for c in spec["containers"]
            ),
            seccomp=_seccomp(psc.get("seccompProfile")),
        )
        if "runAsUser" in psc:
            security.run_as_user.value = psc["runAsUser"]
        logs = self.root / "logs" / f"{pod.namespace}_{pod.name}_{pod.uid}"
        logs.mkdir(parents=True)
        return pb.PodSandboxConfig(
            metadata=pb.PodSandboxMetadata(name=pod.name, uid=pod.uid, namespace=pod.namespace),
            hostname="" if spec.get("hostNetwork") else pod.name,
            log_directory=str(logs),
            port_mappings=ports,
            labels=labels,
            annotations={str(k): str(v) for k, v in meta.get("annotations", {}).items()},
            linux=pb.LinuxPodSandboxConfig(
                cgroup_parent=f"{self.node.cgroup_root}/kubepods/pod{pod.uid}",
                security_context=security,
                sysctls={s["name"]: str(s["value"]) for s in psc.get("sysctls", [])},
            ),
        )

    def _mounts(self, pod: Pod, spec: dict[str, Any], container: dict[str, Any]) -> list[pb.Mount]:
        base = self.root / "pods" / pod.uid
        volumes = {v["name"]: v for v in spec.get("volumes", [])}
        mounts = []
        for mount in container.get("volumeMounts", []):
            volume = volumes[mount["name"]]
            if "hostPath" in volume:
                host = volume["hostPath"]["path"]
            else:
                plugin = {"emptyDir": "empty-dir", "configMap": "configmap", "secret": "secret"}
                kind = next(k for k in volume if k != "name")
                directory = base / "volumes" / f"kubernetes.io~{plugin[kind]}" / volume["name"]
                directory.mkdir(parents=True, exist_ok=True)
                host = str(directory)
            propagation = {
                "Bidirectional": pb.PROPAGATION_BIDIRECTIONAL,
                "HostToContainer": pb.PROPAGATION_HOST_TO_CONTAINER,
            }
            mounts.append(
                pb.Mount(
                    container_path=mount["mountPath"],
                    host_path=host,
                    readonly=bool(mount.get("readOnly")),
                    propagation=propagation.get(
                        mount.get("mountPropagation", ""), pb.PROPAGATION_PRIVATE
                    ),
                )
            )
        hosts = base / "etc-hosts"
        hosts.parent.mkdir(parents=True, exist_ok=True)
        hosts.write_text("127.0.0.1\tlocalhost\n")
        message = base / "containers" / container["name"] / uuid.uuid4().hex[:8]
        message.parent.mkdir(parents=True, exist_ok=True)
        message.touch()
        mounts.append(pb.Mount(container_path="/etc/hosts", host_path=str(hosts)))
        mounts.append(pb.Mount(container_path="/dev/termination-log", host_path=str(message)))
        return mounts

    def _container_config(
        self, pod: Pod, spec: dict[str, Any], container: dict[str, Any]
    ) -> pb.ContainerConfig:
        psc, csc = spec.get("securityContext", {}), container.get("securityContext", {})

        def inherited(key: str) -> Any:
            return csc.get(key, psc.get(key))

        caps = csc.get("capabilities", {})
        unmasked = csc.get("procMount") == "Unmasked"
        security = pb.LinuxContainerSecurityContext(
            capabilities=pb.Capability(
                add_capabilities=caps.get("add", []), drop_capabilities=caps.get("drop", [])
            ),
            privileged=bool(csc.get("privileged")),
            namespace_options=self._namespaces(spec),
            readonly_rootfs=bool(csc.get("readOnlyRootFilesystem")),
            no_new_privs=csc.get("allowPrivilegeEscalation") is False,
            masked_paths=[] if unmasked else list(DEFAULT_MASKED_PATHS),
            readonly_paths=[] if unmasked else list(DEFAULT_READONLY_PATHS),
            seccomp=_seccomp(inherited("seccompProfile")),
            apparmor=_apparmor(inherited("appArmorProfile")),
        )
        # the image's user when the manifest sets none (our images: root)
        security.run_as_user.value = (
            inherited("runAsUser") if inherited("runAsUser") is not None else 0
        )
        if inherited("runAsGroup") is not None:
            security.run_as_group.value = inherited("runAsGroup")
        selinux = inherited("seLinuxOptions")
        if selinux:
            security.selinux_options.CopyFrom(pb.SELinuxOption(**selinux))
        limits = container.get("resources", {}).get("limits", {})
        requests = container.get("resources", {}).get("requests", {})
        resources = pb.LinuxContainerResources(
            cpu_period=100_000,
            cpu_quota=round(float(quantity(limits["cpu"], "cpu")) * 100_000)
            if "cpu" in limits
            else 0,
            cpu_shares=max(
                2, round(float(quantity(requests.get("cpu", limits.get("cpu", 0)), "cpu")) * 1024)
            ),
            memory_limit_in_bytes=int(quantity(limits["memory"], "memory"))
            if "memory" in limits
            else 0,
        )
        annotations = {
            "io.kubernetes.container.hash": uuid.uuid4().hex[:8],
            "io.kubernetes.container.restartCount": "0",
            "io.kubernetes.container.terminationMessagePath": "/dev/termination-log",
        }
        if container.get("ports"):
            annotations["io.kubernetes.container.ports"] = json.dumps(container["ports"])
        return pb.ContainerConfig(
            metadata=pb.ContainerMetadata(name=container["name"]),
            image=pb.ImageSpec(image=self.node.image),
            command=container.get("command", ["/bin/sleep"]),
            args=container.get("args", ["3600"]),
            labels={
                "io.kubernetes.container.name": container["name"],
                "io.kubernetes.pod.name": pod.name,
                "io.kubernetes.pod.namespace": pod.namespace,
                "io.kubernetes.pod.uid": pod.uid,
            },
            annotations=annotations,
            mounts=self._mounts(pod, spec, container),
            log_path=f"{container['name']}/0.log",
            linux=pb.LinuxContainerConfig(resources=resources, security_context=security),
        )


def _seccomp(profile: dict[str, Any] | None) -> pb.SecurityProfile:
    if not profile:
        return pb.SecurityProfile(profile_type=pb.SecurityProfile.Unconfined)
    return pb.SecurityProfile(
        profile_type=_PROFILE[profile["type"]], localhost_ref=profile.get("localhostProfile", "")
    )


def _apparmor(profile: dict[str, Any] | None) -> pb.SecurityProfile | None:
    if not profile:
        return None
    return pb.SecurityProfile(
        profile_type=_PROFILE[profile["type"]], localhost_ref=profile.get("localhostProfile", "")
    )


@contextlib.contextmanager
def node(base: Path, docker: Any) -> Iterator[tuple[Containerd, Kubelet]]:
    """A started containerd and its kubelet; everything removed on the way out."""
    runtime = Containerd(base, docker)
    try:
        runtime.start()
        kubelet = Kubelet(runtime)
        yield runtime, kubelet
        kubelet.channel.close()
    finally:
        runtime.stop()

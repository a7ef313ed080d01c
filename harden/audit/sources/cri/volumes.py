"""Which kind of Kubernetes volume a CRI mount is, from the host path the kubelet gave it.

The kubelet prepares every volume under its root directory, in
``<root>/pods/<pod uid>/volumes/kubernetes.io~<plugin>/<name>``, and passes it to the
runtime as a bind mount; a ``hostPath`` volume is passed as the node's path itself. The
pod's uid in the path is what makes a kubelet directory ours to trust: it is given by
the API server when the pod is created, so a manifest cannot write a hostPath that looks
like one of its own volumes. Anything else is a ``hostPath``.

What the path cannot tell: a PersistentVolumeClaim shows as its volume plugin (``csi``,
``nfs``, ``local-volume``, ...), and a ``subPath`` mount (``volume-subpaths``) hides its
volume's kind; both are reported under those names, never as an allowed kind.
"""

from __future__ import annotations

import re

RULE = "<kubelet root>/pods/<pod uid>/volumes/kubernetes.io~<plugin>"
_PLUGINS = {
    "empty-dir": "emptyDir",
    "configmap": "configMap",
    "secret": "secret",
    "projected": "projected",
    "downward-api": "downwardAPI",
    "csi": "csi",
    "git-repo": "gitRepo",
}
_SEGMENT = re.compile(r"^[A-Za-z0-9._-]+$")


def kind(host_path: str, pod_uid: str) -> str | None:
    """The volume kind of a mount's host path, or None for the kubelet's own files
    (``etc-hosts``, the termination-message file)."""
    marker = f"/pods/{pod_uid}/"
    if not pod_uid or marker not in host_path or "/../" in host_path + "/":
        return "hostPath"
    rest = host_path.split(marker, 1)[1].split("/")
    if rest[0] == "volumes" and len(rest) >= 3 and rest[1].startswith("kubernetes.io~"):
        plugin = rest[1].removeprefix("kubernetes.io~")
        if _SEGMENT.match(plugin):
            return _PLUGINS.get(plugin, plugin)
    if rest[0] == "volume-subpaths":
        return "subPath"
    if rest[0] in ("etc-hosts", "containers"):
        return None
    return "hostPath"

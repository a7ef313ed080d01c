"""SELinux: harden CIL modules from a spec, the base policy they build on, and secilc."""

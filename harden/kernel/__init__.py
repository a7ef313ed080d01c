"""Facts of the Linux kernel ABI that harden reasons about: capabilities, syscalls, constants."""

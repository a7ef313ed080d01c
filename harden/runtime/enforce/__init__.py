"""Applying a bundle to a local process: capabilities, no_new_privs, seccomp, then exec."""

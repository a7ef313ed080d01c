"""Learning safely, then enforcing: what a complain-mode bundle's kernel records ask for."""

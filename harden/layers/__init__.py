"""The confinement layers, each of one shape: model, pure build, render, check."""

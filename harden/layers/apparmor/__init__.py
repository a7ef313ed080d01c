"""AppArmor: the profile model, its builder from a spec, the renderer and the checker."""

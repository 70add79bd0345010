"""A model package written once on polyro, used from a torch script and a JAX script."""

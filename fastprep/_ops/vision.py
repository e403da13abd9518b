"""vision ops: typed wrappers, fake kernels, autograd."""

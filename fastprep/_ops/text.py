"""text ops: typed wrappers, fake kernels, autograd."""

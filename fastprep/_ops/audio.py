"""audio ops: typed wrappers, fake kernels, autograd."""

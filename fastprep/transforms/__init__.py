"""Drop-in replacement for torchvision.transforms.v2."""

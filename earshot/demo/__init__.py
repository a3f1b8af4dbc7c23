"""The offline demo (``earshot demo``): a generated sample world, local stand-in sources, the whole pipeline."""

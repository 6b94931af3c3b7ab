"""The paper's character-level language GAN: models, sampling, and the text training entry point."""

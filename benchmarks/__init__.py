"""Speed, memory and GPU checks of seqgan_gp (run from the checkout; see each module)."""

"""tracefs: finding it, private instances, and what this kernel allows."""

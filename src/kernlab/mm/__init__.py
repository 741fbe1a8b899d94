"""Memory as the kernel manages it: paging mode, page tables, pagemap, page flags, page cache."""

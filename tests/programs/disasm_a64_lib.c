/* The shared library disasm_a64.c links against, so its calls go through PLT entries. */
int helper_add(int a, int b) { return a + b; }
int helper_puts(const char *s) { return s[0]; }

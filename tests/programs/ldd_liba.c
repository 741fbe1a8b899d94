/* libldd_a.so: needed by ldd_main, needs libldd_b.so itself. */
int ldd_b_value(void);

int ldd_a_value(void)
{
	return ldd_b_value() + 1;
}

/* libldd_b.so: the leaf of the test library tree. */
int ldd_b_value(void)
{
	return 41;
}

/* A program that needs libldd_a.so, which needs libldd_b.so: a two-level library tree. */
#include <stdio.h>

int ldd_a_value(void);

int main(void)
{
	printf("%d\n", ldd_a_value());
	return 0;
}

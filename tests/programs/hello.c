#include <stdio.h>

int counter = 1;          /* .data */
static char buffer[8192]; /* .bss */

int main(void)
{
	buffer[0] = (char)counter;
	printf("hello\n");
	return buffer[1];
}

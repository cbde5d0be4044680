#include "check.h"
int main(void)
{
	return kb_check_done();
}

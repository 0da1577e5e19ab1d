#include "proxyd/daemon.h"

int
main(int argc, char **argv)
{
	return proxyd_main(argc, argv);
}

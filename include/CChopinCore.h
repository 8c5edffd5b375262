/* CChopinCore.h - umbrella header of the CChopinCore module (SwiftPM). */
#include "chopin/chopin.h"

#ifndef STREAMR_CPROTOBUFC_SHIM_H
#define STREAMR_CPROTOBUFC_SHIM_H
#include <protobuf-c/protobuf-c.h>
#endif

/* chopin.h - everything a C program needs to embed a Chopin server. */
#ifndef CHOPIN_H
#define CHOPIN_H

#include "chopin/connection.h"
#include "chopin/http.h"
#include "chopin/inflate.h"
#include "chopin/isolation.h"
#include "chopin/log.h"
#include "chopin/metrics.h"
#include "chopin/response.h"
#include "chopin/server.h"
#include "chopin/tls.h"
#include "chopin/websocket.h"

#endif

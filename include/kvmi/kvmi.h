/*
 * libkvmi - kvmi.h: umbrella header; includes every public header.
 */
#ifndef KVMI_KVMI_H
#define KVMI_KVMI_H

#include <kvmi/common.h>
#include <kvmi/version.h>
#include <kvmi/wire.h>
#include <kvmi/error.h>
#include <kvmi/codec.h>
#include <kvmi/capture.h>
#include <kvmi/server.h>
#include <kvmi/domain.h>
#include <kvmi/domain-v7.h>
#include <kvmi/hooks.h>
#include <kvmi/own-loop.h>

#endif /* KVMI_KVMI_H */

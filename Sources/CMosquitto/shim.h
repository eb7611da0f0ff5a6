#ifndef MILLWRIGHT_CMOSQUITTO_SHIM_H
#define MILLWRIGHT_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#include <mqtt_protocol.h>
#endif

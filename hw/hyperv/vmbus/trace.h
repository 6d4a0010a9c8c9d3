#include "trace/trace-hw_hyperv_vmbus.h"

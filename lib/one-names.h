/* one-names.h — OpenNebula's numeric VM STATE, LCM_STATE, host STATE and API error codes and
 * their names, shared by the lab endpoint and the trigger. Unknown numbers map to "OTHER". */
#ifndef TH_ONE_NAMES_H
#define TH_ONE_NAMES_H

/* VM STATE (include/VirtualMachine.h). */
enum {
	ONE_VM_INIT = 0,
	ONE_VM_PENDING = 1,
	ONE_VM_HOLD = 2,
	ONE_VM_ACTIVE = 3,
	ONE_VM_STOPPED = 4,
	ONE_VM_SUSPENDED = 5,
	ONE_VM_DONE = 6,
	ONE_VM_POWEROFF = 8,
	ONE_VM_UNDEPLOYED = 9,
};

/* LCM_STATE values the lab and the trigger use. */
enum {
	ONE_LCM_INIT = 0,
	ONE_LCM_BOOT = 2,
	ONE_LCM_RUNNING = 3,
	ONE_LCM_MIGRATE = 4,
	ONE_LCM_SAVE_MIGRATE = 7,
	ONE_LCM_PROLOG_MIGRATE = 8,
	ONE_LCM_UNKNOWN = 16,
	ONE_LCM_BOOT_POWEROFF = 20,
	ONE_LCM_BOOT_MIGRATE = 35,
	ONE_LCM_BOOT_FAILURE = 36,
	ONE_LCM_BOOT_MIGRATE_FAILURE = 37,
	ONE_LCM_PROLOG_MIGRATE_FAILURE = 38,
	ONE_LCM_PROLOG_MIGRATE_POWEROFF = 43,
	ONE_LCM_PROLOG_MIGRATE_POWEROFF_FAILURE = 44,
	ONE_LCM_PROLOG_MIGRATE_SUSPEND = 45,
	ONE_LCM_PROLOG_MIGRATE_SUSPEND_FAILURE = 46,
	ONE_LCM_PROLOG_MIGRATE_UNKNOWN = 60,
	ONE_LCM_PROLOG_MIGRATE_UNKNOWN_FAILURE = 61,
};

/* Host STATE. */
enum { ONE_HOST_MONITORED = 2, ONE_HOST_ERROR = 3, ONE_HOST_DISABLED = 4, ONE_HOST_OFFLINE = 8 };

/* OpenNebula API error codes (include/Request.h; item 2 of a failure array). */
enum {
	ONE_E_AUTHENTICATION = 0x100,
	ONE_E_AUTHORIZATION = 0x200,
	ONE_E_NO_EXISTS = 0x400,
	ONE_E_ACTION = 0x800,
	ONE_E_XML_RPC_API = 0x1000,
	ONE_E_INTERNAL = 0x2000,
	ONE_E_ALLOCATE = 0x4000,
	ONE_E_LOCKED = 0x8000,
	ONE_E_REPLICATION = 0x10000,
};

const char *one_vm_state_name(int state);
const char *one_lcm_state_name(int lcm);
const char *one_host_state_name(int state);
const char *one_error_name(int code);

/* The name a user sees: the LCM name when STATE is ACTIVE, else the VM state name. */
const char *one_vm_display_state(int state, int lcm);

#endif

/* one-names.c — name tables for OpenNebula's numeric states and error codes (see one-names.h). */
#include "themis-config.h"

#include <stddef.h>

#include "one-names.h"

static const char *const one_vm_states[] = {
    "INIT", "PENDING", "HOLD",     "ACTIVE",     "STOPPED", "SUSPENDED",
    "DONE", "FAILED",  "POWEROFF", "UNDEPLOYED", "CLONING", "CLONING_FAILURE",
};

static const char *const one_lcm_states[] = {
    "LCM_INIT",
    "PROLOG",
    "BOOT",
    "RUNNING",
    "MIGRATE",
    "SAVE_STOP",
    "SAVE_SUSPEND",
    "SAVE_MIGRATE",
    "PROLOG_MIGRATE",
    "PROLOG_RESUME",
    "EPILOG_STOP",
    "EPILOG",
    "SHUTDOWN",
    "CANCEL",
    "FAILURE",
    "CLEANUP_RESUBMIT",
    "UNKNOWN",
    "HOTPLUG",
    "SHUTDOWN_POWEROFF",
    "BOOT_UNKNOWN",
    "BOOT_POWEROFF",
    "BOOT_SUSPENDED",
    "BOOT_STOPPED",
    "CLEANUP_DELETE",
    "HOTPLUG_SNAPSHOT",
    "HOTPLUG_NIC",
    "HOTPLUG_SAVEAS",
    "HOTPLUG_SAVEAS_POWEROFF",
    "HOTPLUG_SAVEAS_SUSPENDED",
    "SHUTDOWN_UNDEPLOY",
    "EPILOG_UNDEPLOY",
    "PROLOG_UNDEPLOY",
    "BOOT_UNDEPLOY",
    "HOTPLUG_PROLOG_POWEROFF",
    "HOTPLUG_EPILOG_POWEROFF",
    "BOOT_MIGRATE",
    "BOOT_FAILURE",
    "BOOT_MIGRATE_FAILURE",
    "PROLOG_MIGRATE_FAILURE",
    "PROLOG_FAILURE",
    "EPILOG_FAILURE",
    "EPILOG_STOP_FAILURE",
    "EPILOG_UNDEPLOY_FAILURE",
    "PROLOG_MIGRATE_POWEROFF",
    "PROLOG_MIGRATE_POWEROFF_FAILURE",
    "PROLOG_MIGRATE_SUSPEND",
    "PROLOG_MIGRATE_SUSPEND_FAILURE",
    "BOOT_UNDEPLOY_FAILURE",
    "BOOT_STOPPED_FAILURE",
    "PROLOG_RESUME_FAILURE",
    "PROLOG_UNDEPLOY_FAILURE",
    "DISK_SNAPSHOT_POWEROFF",
    "DISK_SNAPSHOT_REVERT_POWEROFF",
    "DISK_SNAPSHOT_DELETE_POWEROFF",
    "DISK_SNAPSHOT_SUSPENDED",
    "DISK_SNAPSHOT_REVERT_SUSPENDED",
    "DISK_SNAPSHOT_DELETE_SUSPENDED",
    "DISK_SNAPSHOT",
    "DISK_SNAPSHOT_REVERT",
    "DISK_SNAPSHOT_DELETE",
    "PROLOG_MIGRATE_UNKNOWN",
    "PROLOG_MIGRATE_UNKNOWN_FAILURE",
    "DISK_RESIZE",
    "DISK_RESIZE_POWEROFF",
    "DISK_RESIZE_UNDEPLOYED",
    "HOTPLUG_NIC_POWEROFF",
    "HOTPLUG_RESIZE",
    "HOTPLUG_SAVEAS_UNDEPLOYED",
    "HOTPLUG_SAVEAS_STOPPED",
    "BACKUP",
    "BACKUP_POWEROFF",
    "RESTORE",
};

static const char *const one_host_states[] = {
    "INIT",     "MONITORING_MONITORED", "MONITORED",       "ERROR",
    "DISABLED", "MONITORING_ERROR",     "MONITORING_INIT", "MONITORING_DISABLED",
    "OFFLINE",
};

#define ONE_LOOKUP(tab, i)                                                                         \
	((i) >= 0 && (size_t)(i) < sizeof(tab) / sizeof((tab)[0]) ? (tab)[i] : "OTHER")

const char *one_vm_state_name(int state)
{
	return ONE_LOOKUP(one_vm_states, state);
}

const char *one_lcm_state_name(int lcm)
{
	return ONE_LOOKUP(one_lcm_states, lcm);
}

const char *one_host_state_name(int state)
{
	return ONE_LOOKUP(one_host_states, state);
}

const char *one_vm_display_state(int state, int lcm)
{
	return state == ONE_VM_ACTIVE ? one_lcm_state_name(lcm) : one_vm_state_name(state);
}

const char *one_error_name(int code)
{
	switch (code) {
	case 0:
		return "SUCCESS";
	case ONE_E_AUTHENTICATION:
		return "AUTHENTICATION";
	case ONE_E_AUTHORIZATION:
		return "AUTHORIZATION";
	case ONE_E_NO_EXISTS:
		return "NO_EXISTS";
	case ONE_E_ACTION:
		return "ACTION";
	case ONE_E_XML_RPC_API:
		return "XML_RPC_API";
	case ONE_E_INTERNAL:
		return "INTERNAL";
	case ONE_E_ALLOCATE:
		return "ALLOCATE";
	case ONE_E_LOCKED:
		return "LOCKED";
	case ONE_E_REPLICATION:
		return "REPLICATION";
	default:
		return "OTHER";
	}
}

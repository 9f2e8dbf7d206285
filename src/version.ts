/** Program name and version, shared by `version`, `--help` and the metrics. @module */

/** Name of the executable as installed. */
export const PROGRAM = "mysql_monitor_daemon";

/** Release version; bump together with deno.json. */
export const VERSION = "0.1.0";

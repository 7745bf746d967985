/**
 * The reporter names alone, for the CLI's option parsing: importing them does not load the
 * reporters (the CLI loads those only when a command renders something).
 */
export const REPORTER_NAMES = ['console', 'json', 'markdown', 'html', 'junit', 'ndjson'] as const;
export type ReporterName = (typeof REPORTER_NAMES)[number];

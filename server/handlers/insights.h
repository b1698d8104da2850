/*
 * insights.h: the console's members and counterfeit reads (docs/api.md,
 * "Insights"): member segments and cohorts, not-genuine scans by region
 * and hour, a member found by phone, a member's timeline; and the
 * background export jobs (export_jobs.c). Each read is one call of a SQL
 * function of sql/022_insights.sql that builds the reply's JSON, limited to
 * the identity's brands (and to ?brand= when given).
 */
#ifndef PACKCODE_SERVER_INSIGHTS_H
#define PACKCODE_SERVER_INSIGHTS_H

#include <stddef.h>

struct request;

void admin_route_analytics_members(struct request *r);     /* GET analytics/members */
void admin_route_analytics_not_genuine(struct request *r); /* GET analytics/not-genuine */
void admin_route_member_search(struct request *r);         /* GET members/search?phone= */
void admin_route_member_timeline(struct request *r);       /* GET members/{member}/timeline */

void admin_route_export_jobs(struct request *r);         /* GET export-jobs */
void admin_route_export_job_add(struct request *r);      /* POST export-jobs */
void admin_route_export_job(struct request *r);          /* GET export-jobs/{id} */
void admin_route_export_job_download(struct request *r); /* GET export-jobs/{id}/download */

/*
 * Run statement stmt (values[0..n)) whose one row and column is the reply's
 * JSON, and send it: 200; 404 with error/message when it is NULL; 400 for
 * SQLSTATE 22023; 503 when the database is unavailable.
 */
void insights_json_call(struct request *r, const char *stmt, int n, const char *const *values,
                        const char *error404, const char *message404);

#endif

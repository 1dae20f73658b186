/* emu_problem.h - Broker error bodies (broker-api.md §2.1).
 *
 * Altinn ProblemDetails carry a BRO-000NN code; model validation failures
 * use ASP.NET ValidationProblemDetails (no code, an "errors" map). Both get
 * a W3C-style traceId so client logs look like the real thing.
 */
#ifndef EMU_PROBLEM_H
#define EMU_PROBLEM_H

#include "emu_http.h"

/* ProblemDetails with code "BRO-%05d" (code 0 = no code, e.g. injected faults). */
void emu_problem(emu_request *r, unsigned status, int code, const char *detail);

/* The bare ProblemDetails ASP.NET writes for a status (415, 404 ...): type,
 * title, status, traceId, no detail or code. */
void emu_problem_status(emu_request *r, unsigned status);

/* ValidationProblemDetails: 400, errors = {"Field": ["message", ...]} (takes errors). */
void emu_problem_validation(emu_request *r, cJSON *errors);

/* Adds message to errors[field] (creating the array). */
void emu_problem_add(cJSON *errors, const char *field, const char *message);

/* Default detail text for a BRO error number (§5). */
const char *emu_problem_text(int code);

#endif

/* emu_endpoints.h - every endpoint the emulator serves, defined in the
 * module that implements it and routed by emu_http.c. */
#ifndef EMU_ENDPOINTS_H
#define EMU_ENDPOINTS_H

#include "emu_http.h"

/* emu_maskinporten.c */
extern const emu_endpoint emu_ep_token, emu_ep_mp_metadata, emu_ep_jwks;
/* emu_exchange.c */
extern const emu_endpoint emu_ep_exchange, emu_ep_openid_metadata;
/* emu_broker_init.c, emu_broker_upload.c, emu_broker_multipart.c, emu_broker_query.c,
 * emu_broker_download.c */
extern const emu_endpoint emu_ep_initialize, emu_ep_upload, emu_ep_initialize_upload,
    emu_ep_overview, emu_ep_details, emu_ep_search, emu_ep_download, emu_ep_confirm;
/* emu_serviceowner.c, emu_resource_api.c, emu_statistics.c */
extern const emu_endpoint emu_ep_serviceowner_create, emu_ep_serviceowner_get,
    emu_ep_resource_put, emu_ep_resource_get, emu_ep_statistics_monthly;
/* emu_tus.c */
extern const emu_endpoint emu_ep_tus_options, emu_ep_tus_create, emu_ep_tus_head, emu_ep_tus_patch,
    emu_ep_tus_delete;
/* emu_events_pull.c, emu_events_api.c */
extern const emu_endpoint emu_ep_events_pull, emu_ep_subscription_create, emu_ep_subscription_list,
    emu_ep_subscription_get, emu_ep_subscription_delete;
/* emu_inspect.c */
extern const emu_endpoint emu_ep_state, emu_ep_reset, emu_ep_faults, emu_ep_faults_list,
    emu_ep_knobs, emu_ep_knobs_get, emu_ep_clock;
/* emu_tokens.c */
extern const emu_endpoint emu_ep_tokens, emu_ep_tokens_get;

/* emu_seed.c */
extern const emu_endpoint emu_ep_seed;
/* emu_hostile.c */
extern const emu_endpoint emu_ep_hostile, emu_ep_hostile_list;

#endif

/*  intake_warranty_api: GET /v1/warranty/policy, POST /v1/warranty/check.  */
#include "intake_warranty_api.h"
#include <assert.h>
#include <string.h>

void
intake_warranty_api_policy (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                            asp_http_res_t *res)
{
    (void) call; (void) req;
    cJSON *out = intake_warranty_describe (api->warranty);
    asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    cJSON_Delete (out);
}

int
intake_warranty_api_parse (const cJSON *j, intake_warranty_in_t *in, intake_err_t *err)
{
    static const char *allowed [] = { "category", "type", "purchase_date", "same_fault_repairs", NULL };
    const char *type = NULL;
    int64_t repairs = 0;
    *in = (intake_warranty_in_t) { .purchase_ms = INTAKE_WARRANTY_UNKNOWN, .now_ms = asp_now_ms () };
    bool valid = cJSON_IsObject (j) || intake_fail (err, "%s must be a JSON object", "the body");
    valid = valid && intake_v_only (j, allowed, "", err)
         && intake_v_str (j, "category", "category", 1, 64, NULL, true, &in->category, err)
         && intake_v_str (j, "type", "type", 1, 32, &asp_vocab_kind, true, &type, err)
         && intake_v_date (j, "purchase_date", "purchase_date", false, &in->purchase_ms, err)
         && intake_v_int (j, "same_fault_repairs", "same_fault_repairs", 0, 1000, false, &repairs, err);
    if (!valid)
        return -1;
    in->type = (asp_kind_t) asp_vocab_parse (&asp_vocab_kind, type);
    in->same_fault_repairs = (int) repairs;
    return 0;
}

void
intake_warranty_api_check (intake_api_t *api, const intake_call_t *call, const asp_http_req_t *req,
                           asp_http_res_t *res)
{
    (void) call;
    cJSON *j = intake_body (req, res);
    if (!j)
        return;
    intake_warranty_in_t in;
    intake_err_t err = { "" };
    if (intake_warranty_api_parse (j, &in, &err)) {
        asp_counter_inc (api->invalid);
        asp_http_error (res, 400, "invalid_field", "%s", err.message);
        cJSON_Delete (j);
        return;
    }
    intake_warranty_out_t d;
    intake_warranty_decide (api->warranty, &in, &d);
    cJSON *out = cJSON_CreateObject ();
    if (d.applies)
        cJSON_AddStringToObject (out, "remedy", asp_vocab_name (&asp_vocab_remedy, (int) d.remedy));
    else
        cJSON_AddNullToObject (out, "remedy");
    cJSON_AddStringToObject (out, "reason", d.reason);
    if (d.days >= 0)
        cJSON_AddNumberToObject (out, "days_since_purchase", (double) d.days);
    else
        cJSON_AddNullToObject (out, "days_since_purchase");
    cJSON *rule = cJSON_AddObjectToObject (out, "rule");
    cJSON_AddStringToObject (rule, "category", d.rule.category);
    cJSON_AddNumberToObject (rule, "refund_days", d.rule.refund_days);
    cJSON_AddNumberToObject (rule, "exchange_days", d.rule.exchange_days);
    cJSON_AddNumberToObject (rule, "repair_months", d.rule.repair_months);
    cJSON_AddNumberToObject (rule, "repairs_for_exchange", d.rule.repairs_for_exchange);
    asp_http_json (res, 200, cJSON_PrintUnformatted (out));
    cJSON_Delete (out);
    cJSON_Delete (j);
}

void
intake_warranty_api_test (void)
{
    intake_warranty_in_t in;
    intake_err_t err;
    cJSON *j = cJSON_Parse ("{\"category\":\"tv\",\"type\":\"return\",\"purchase_date\":\"2024-02-29\","
                            "\"same_fault_repairs\":2}");
    assert (intake_warranty_api_parse (j, &in, &err) == 0);
    assert (in.type == ASP_KIND_RETURN && strcmp (in.category, "tv") == 0 && in.same_fault_repairs == 2);
    assert (in.purchase_ms == 1709164800000LL);
    cJSON_ReplaceItemInObject (j, "purchase_date", cJSON_CreateNull ());
    assert (intake_warranty_api_parse (j, &in, &err) == 0 && in.purchase_ms == INTAKE_WARRANTY_UNKNOWN);
    cJSON_ReplaceItemInObject (j, "same_fault_repairs", cJSON_CreateNumber (-1));
    assert (intake_warranty_api_parse (j, &in, &err) == -1 && strstr (err.message, "same_fault_repairs"));
    cJSON_ReplaceItemInObject (j, "same_fault_repairs", cJSON_CreateNumber (0));
    cJSON_ReplaceItemInObject (j, "type", cJSON_CreateString ("upgrade"));
    assert (intake_warranty_api_parse (j, &in, &err) == -1 && strstr (err.message, "type must be one of"));
    cJSON_DeleteItemFromObject (j, "type");
    assert (intake_warranty_api_parse (j, &in, &err) == -1 && strstr (err.message, "type is required"));
    cJSON_Delete (j);
}

/*
 * sms.h: sending a text to a phone through the sender the brand configured:
 * a signed JSON POST to its SMS gateway (--sms-webhook, through the loop's
 * outbound client, signed like a webhook delivery: docs/webhooks.md) or a
 * command (--sms-command, run by /bin/sh on the offload thread with the
 * number and text in PACKCODE_SMS_TO and PACKCODE_SMS_TEXT, killed after
 * its timeout). Fire and forget: the outcome is logged and counted, the
 * caller has answered already (a sign-in answers the same whatever happens).
 */
#ifndef PACKCODE_SERVER_SMS_H
#define PACKCODE_SERVER_SMS_H

struct worker;
struct sms;

/* w's sender (NULL with neither option: sms_send then fails). */
struct sms *sms_new(struct worker *w);
/* Abort texts in flight. NULL is fine. */
void sms_free(struct sms *s);
/* 1 if a sender is configured. */
int sms_configured(const struct worker *w);
/* Send text to the E.164 number to. 0 started, -1 not (logged). */
int sms_send(struct worker *w, const char *to, const char *text);

#endif

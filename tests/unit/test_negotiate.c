/*
 * test_negotiate.c: the consumer's content negotiation (edge/negotiate.c)
 * and what counts as a scan (lookup_preview_bot): languages by
 * Accept-Language, HTML or JSON by Accept, link-preview bots by User-Agent.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "edge/negotiate.h"
#include "handlers/lookup.h"

static void test_simplified_chinese_in_its_spellings(void **state)
{
	(void)state;
	assert_int_equal(negotiate_lang("zh-CN,zh;q=0.9,en;q=0.5"), LANG_ZH);
	assert_int_equal(negotiate_lang("zh_CN"), LANG_ZH);
	assert_int_equal(negotiate_lang("zh"), LANG_ZH);
	assert_int_equal(negotiate_lang("zh-Hans-HK"), LANG_ZH);
	assert_int_equal(negotiate_lang("ZH-sg"), LANG_ZH);
	assert_string_equal(negotiate_lang_tag(LANG_ZH), "zh-CN");
}

static void test_traditional_chinese_for_taiwan_hong_kong_and_hant(void **state)
{
	(void)state;
	assert_int_equal(negotiate_lang("zh-TW"), LANG_ZH_HANT);
	assert_int_equal(negotiate_lang("zh-HK,zh;q=0.8"), LANG_ZH_HANT);
	assert_int_equal(negotiate_lang("zh-MO"), LANG_ZH_HANT);
	assert_int_equal(negotiate_lang("zh-Hant"), LANG_ZH_HANT);
	assert_int_equal(negotiate_lang("zh-Hant-CN"), LANG_ZH_HANT); /* the script decides */
	assert_int_equal(negotiate_lang("zh_TW"), LANG_ZH_HANT);
	assert_string_equal(negotiate_lang_tag(LANG_ZH_HANT), "zh-Hant");
}

static void test_q_values_and_q_zero(void **state)
{
	(void)state;
	assert_int_equal(negotiate_lang("fr, en;q=0.4, zh;q=0.2"), LANG_EN);
	assert_int_equal(negotiate_lang("en;q=0.5, zh-TW;q=0.8"), LANG_ZH_HANT);
	assert_int_equal(negotiate_lang("zh;q=0, en"), LANG_EN);
	assert_int_equal(negotiate_lang("zh-CN;q=0"), LANG_EN);
	assert_int_equal(negotiate_lang("zh-TW;q=0, zh-CN;q=0.1"), LANG_ZH);
	assert_int_equal(negotiate_lang("en, zh"), LANG_EN); /* a tie: the first listed */
	assert_int_equal(negotiate_lang("zh-CN;q=0.5;level=1, en;q=0.4"), LANG_ZH);
}

static void test_no_language_of_ours_is_english(void **state)
{
	(void)state;
	assert_int_equal(negotiate_lang(NULL), LANG_EN);
	assert_int_equal(negotiate_lang(""), LANG_EN);
	assert_int_equal(negotiate_lang("fr-FR,de;q=0.5"), LANG_EN);
	assert_int_equal(negotiate_lang("zhx, enx"), LANG_EN);
	assert_int_equal(negotiate_lang(";;;,,,q=,"), LANG_EN);
	assert_string_equal(negotiate_lang_tag(LANG_EN), "en");
}

static void test_browsers_get_html(void **state)
{
	(void)state;
	assert_false(negotiate_json(NULL));
	assert_false(negotiate_json("*/*"));
	assert_false(negotiate_json("text/html,application/xhtml+xml,application/xml;q=0.9,"
	                            "image/avif,image/webp,*/*;q=0.8"));
	assert_false(negotiate_json("text/html, application/json"));     /* a tie */
	assert_false(negotiate_json("application/json;q=0, text/html")); /* q=0: not that */
	assert_false(negotiate_json("text/html,application/json;q=0.9"));
}

static void test_api_clients_that_ask_for_json_get_it(void **state)
{
	(void)state;
	assert_true(negotiate_json("application/json"));
	assert_true(negotiate_json("Application/JSON; charset=utf-8"));
	assert_true(negotiate_json("application/json, text/plain, */*"));
	assert_true(negotiate_json("application/*"));
	assert_true(negotiate_json("text/html;q=0.1, application/json"));
	assert_true(negotiate_json("application/json, */*;q=0.5"));
}

static void test_the_linkset_is_asked_for_by_name(void **state)
{
	(void)state;
	assert_int_equal(negotiate_linkset("application/linkset+json"), 1);
	assert_int_equal(negotiate_linkset("application/linkset+json, application/json;q=0.5"), 1);
	assert_int_equal(negotiate_linkset("text/html, application/linkset+json;q=0.9"), 0);
	assert_int_equal(negotiate_linkset("application/linkset+json;q=0"), 0);
	assert_int_equal(negotiate_linkset("application/*"), 0);
	assert_int_equal(negotiate_linkset("*/*"), 0);
	assert_int_equal(negotiate_linkset("application/json"), 0);
	assert_int_equal(negotiate_linkset(NULL), 0);
	assert_int_equal(negotiate_linkset(""), 0);
}

static void test_link_previews_and_crawlers_are_no_scans(void **state)
{
	(void)state;
	assert_true(lookup_preview_bot("WhatsApp/2.23.20.0 A"));
	assert_true(lookup_preview_bot("facebookexternalhit/1.1 "
	                               "(+http://www.facebook.com/externalhit_uatext.php)"));
	assert_true(
	    lookup_preview_bot("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"));
	assert_true(lookup_preview_bot("Twitterbot/1.0"));
	assert_true(lookup_preview_bot("TelegramBot (like TwitterBot)"));
	assert_true(lookup_preview_bot("Mozilla/5.0 (compatible; Googlebot/2.1; "
	                               "+http://www.google.com/bot.html)"));
	assert_true(lookup_preview_bot("Mozilla/5.0 (compatible; Baiduspider/2.0)"));
	assert_true(lookup_preview_bot("WeChatShareExtension/8.0"));
}

static void test_phones_are_scans(void **state)
{
	(void)state;
	assert_false(lookup_preview_bot(NULL));
	assert_false(lookup_preview_bot(""));
	assert_false(lookup_preview_bot("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) "
	                                "AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 "
	                                "MicroMessenger/8.0.42(0x18002a2f) NetType/WIFI "
	                                "Language/zh_CN"));
	assert_false(lookup_preview_bot("Mozilla/5.0 (Linux; Android 13; CUBOT X30) "
	                                "AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36"));
	assert_false(lookup_preview_bot("curl/7.88.1"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_simplified_chinese_in_its_spellings),
	    cmocka_unit_test(test_traditional_chinese_for_taiwan_hong_kong_and_hant),
	    cmocka_unit_test(test_q_values_and_q_zero),
	    cmocka_unit_test(test_no_language_of_ours_is_english),
	    cmocka_unit_test(test_browsers_get_html),
	    cmocka_unit_test(test_api_clients_that_ask_for_json_get_it),
	    cmocka_unit_test(test_the_linkset_is_asked_for_by_name),
	    cmocka_unit_test(test_link_previews_and_crawlers_are_no_scans),
	    cmocka_unit_test(test_phones_are_scans),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

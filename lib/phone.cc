/*
 * phone.cc: the C API of lib/phone.h over libphonenumber's C++. Nothing of
 * C++ leaks out: no exception crosses the C boundary (each is caught and
 * the number refused) and no C++ type appears in the header.
 */
#include "phone.h"

#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include <cstring>
#include <set>
#include <string>

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

namespace
{

std::string upper2(const char *region)
{
	std::string r;
	for (const char *p = region; p && *p && r.size() < 3; p++)
		r += (char)(*p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
	return r;
}

} // namespace

extern "C" int phone_looks_like(const char *in, size_t len)
{
	size_t i = 0, digits = 0;
	while (i < len && (in[i] == ' ' || in[i] == '\t'))
		i++;
	if (i < len && in[i] == '+')
		return 1;
	for (; i < len; i++) {
		char c = in[i];
		if (c >= '0' && c <= '9')
			digits++;
		else if (!std::strchr(" \t-.()", c) || c == '\0')
			return 0;
	}
	return digits > 0;
}

extern "C" int phone_region_known(const char *region)
{
	try {
		std::set<std::string> regions;
		PhoneNumberUtil::GetInstance()->GetSupportedRegions(&regions);
		return regions.count(upper2(region)) ? 1 : 0;
	} catch (...) {
		return 0;
	}
}

extern "C" enum phone_result phone_normalize(const char *in, size_t len, const char *region,
                                             char out[PHONE_E164_MAX + 1])
{
	out[0] = '\0';
	if (std::memchr(in, '\0', len))
		return PHONE_NOT_A_NUMBER;
	try {
		const PhoneNumberUtil *u = PhoneNumberUtil::GetInstance();
		PhoneNumber n;
		switch (u->Parse(std::string(in, len), upper2(region), &n)) {
		case PhoneNumberUtil::NO_PARSING_ERROR:
			break;
		case PhoneNumberUtil::INVALID_COUNTRY_CODE_ERROR:
			return PHONE_BAD_COUNTRY;
		case PhoneNumberUtil::TOO_SHORT_AFTER_IDD:
		case PhoneNumberUtil::TOO_SHORT_NSN:
			return PHONE_TOO_SHORT;
		case PhoneNumberUtil::TOO_LONG_NSN:
			return PHONE_TOO_LONG;
		default:
			return PHONE_NOT_A_NUMBER;
		}
		if (n.has_extension())
			return PHONE_NOT_A_NUMBER; /* "ext. 12" is no member */
		switch (u->IsPossibleNumberWithReason(n)) {
		case PhoneNumberUtil::IS_POSSIBLE:
			break;
		case PhoneNumberUtil::INVALID_COUNTRY_CODE:
			return PHONE_BAD_COUNTRY;
		case PhoneNumberUtil::TOO_SHORT:
		case PhoneNumberUtil::IS_POSSIBLE_LOCAL_ONLY: /* a local number needs its area code
		                                               */
			return PHONE_TOO_SHORT;
		case PhoneNumberUtil::TOO_LONG:
			return PHONE_TOO_LONG;
		default:
			return PHONE_BAD_LENGTH;
		}
		if (!u->IsValidNumber(n))
			return PHONE_NO_SUCH_RANGE;
		std::string e164;
		u->Format(n, PhoneNumberUtil::E164, &e164);
		if (e164.size() < 2 || e164.size() > PHONE_E164_MAX)
			return PHONE_TOO_LONG;
		std::memcpy(out, e164.c_str(), e164.size() + 1);
		return PHONE_OK;
	} catch (...) {
		out[0] = '\0';
		return PHONE_NOT_A_NUMBER;
	}
}

extern "C" const char *phone_result_message(enum phone_result r)
{
	switch (r) {
	case PHONE_OK:
		return "a phone number";
	case PHONE_NOT_A_NUMBER:
		break;
	case PHONE_BAD_COUNTRY:
		return "no country has that calling code: start with + and the country code";
	case PHONE_TOO_SHORT:
		return "too few digits for a phone number of its country";
	case PHONE_TOO_LONG:
		return "too many digits for a phone number";
	case PHONE_BAD_LENGTH:
		return "no phone number of its country has that many digits";
	case PHONE_NO_SUCH_RANGE:
		return "no phone number of its country starts with those digits";
	case PHONE_RESULT_COUNT:
		break;
	}
	return "not a phone number";
}

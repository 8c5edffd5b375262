/* text.c - the words and numbers of a response head: status reasons,
 * decimal integers and IMF-fixdates, formatted without printf (the
 * response writer and the worker's Date cache call them per response and
 * per second). */
#include "text.h"

#include <string.h>

#include "chopin/response.h"

chopin_reason_text chopin__status_reason(int status) {
#define R(lit) return (chopin_reason_text){lit, sizeof lit - 1}
    switch (status) {
    case 100: R("Continue");
    case 101: R("Switching Protocols");
    case 200: R("OK");
    case 201: R("Created");
    case 202: R("Accepted");
    case 204: R("No Content");
    case 206: R("Partial Content");
    case 301: R("Moved Permanently");
    case 302: R("Found");
    case 303: R("See Other");
    case 304: R("Not Modified");
    case 307: R("Temporary Redirect");
    case 308: R("Permanent Redirect");
    case 400: R("Bad Request");
    case 401: R("Unauthorized");
    case 403: R("Forbidden");
    case 404: R("Not Found");
    case 405: R("Method Not Allowed");
    case 406: R("Not Acceptable");
    case 408: R("Request Timeout");
    case 409: R("Conflict");
    case 410: R("Gone");
    case 411: R("Length Required");
    case 413: R("Content Too Large");
    case 414: R("URI Too Long");
    case 415: R("Unsupported Media Type");
    case 417: R("Expectation Failed");
    case 422: R("Unprocessable Content");
    case 429: R("Too Many Requests");
    case 431: R("Request Header Fields Too Large");
    case 500: R("Internal Server Error");
    case 501: R("Not Implemented");
    case 502: R("Bad Gateway");
    case 503: R("Service Unavailable");
    case 504: R("Gateway Timeout");
    case 505: R("HTTP Version Not Supported");
    default: R("");
    }
#undef R
}

const char *chopin_status_reason(int status) { return chopin__status_reason(status).text; }

size_t chopin__format_u64(char *out, uint64_t v) {
    /* Most bodies are short: below 100 without a loop or a division. */
    if (v < 10) {
        out[0] = (char)('0' + v);
        return 1;
    }
    if (v < 100) {
        out[0] = (char)('0' + v / 10);
        out[1] = (char)('0' + v % 10);
        return 2;
    }
    /* Count the digits, then write them from the last: no reversal pass. */
    size_t n = 1;
    for (uint64_t t = v; t >= 10; t /= 10)
        n++;
    char *p = out + n;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return n;
}

void chopin__format_date(char out[29], time_t t) {
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    struct tm tm;
    gmtime_r(&t, &tm);
    memcpy(out, days + 3 * tm.tm_wday, 3);
    out[3] = ',';
    out[4] = ' ';
    out[5] = (char)('0' + tm.tm_mday / 10);
    out[6] = (char)('0' + tm.tm_mday % 10);
    out[7] = ' ';
    memcpy(out + 8, months + 3 * tm.tm_mon, 3);
    out[11] = ' ';
    int y = tm.tm_year + 1900;
    out[12] = (char)('0' + y / 1000 % 10);
    out[13] = (char)('0' + y / 100 % 10);
    out[14] = (char)('0' + y / 10 % 10);
    out[15] = (char)('0' + y % 10);
    out[16] = ' ';
    out[17] = (char)('0' + tm.tm_hour / 10);
    out[18] = (char)('0' + tm.tm_hour % 10);
    out[19] = ':';
    out[20] = (char)('0' + tm.tm_min / 10);
    out[21] = (char)('0' + tm.tm_min % 10);
    out[22] = ':';
    out[23] = (char)('0' + tm.tm_sec / 10);
    out[24] = (char)('0' + tm.tm_sec % 10);
    memcpy(out + 25, " GMT", 4);
}


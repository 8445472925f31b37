// Messages stay one line of valid UTF-8: printable() escapes what would break them, and every
// InputError applies it to its file, field and text.
#include <doctest/doctest.h>

#include <string>

#include "datapath/input_error.h"
#include "datapath/printable.h"

using namespace accsim;

TEST_CASE("printable escapes line breaks, NUL, control bytes and bytes that are not UTF-8") {
    CHECK(printable("16\n") == "16\\n");
    CHECK(printable(std::string("fc\0.input", 9)) == "fc\\0.input");
    CHECK(printable("a\r\tb") == "a\\r\\tb");
    CHECK(printable("\x1b[31m") == "\\x1b[31m");
    CHECK(printable("\x7f") == "\\x7f");
    CHECK(printable("\xff ok") == "\\xff ok");
    CHECK(printable("\xc3") == "\\xc3");                  // a sequence cut short
    CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");          // overlong
    CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a surrogate
    CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // past U+10FFFF
    // Text that is already fine passes unchanged: UTF-8 names, quotes, backslashes.
    CHECK(printable("conv_µ/層 \"x\" a\\b") == "conv_µ/層 \"x\" a\\b");
    CHECK(printable("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");
}

TEST_CASE("valid_utf8 accepts UTF-8 and nothing else") {
    CHECK(valid_utf8("plain"));
    CHECK(valid_utf8("層µ\xf0\x9f\x98\x80"));
    CHECK_FALSE(valid_utf8("\xff"));
    CHECK_FALSE(valid_utf8("\xe2\x82"));
    CHECK_FALSE(valid_utf8("\xc1\xbf"));
}

TEST_CASE("an InputError is one line whatever its parts hold") {
    const InputError e("dir\n/x.json", std::string("/a\0b", 4), "value \"\xff\" is bad\n");
    CHECK(std::string(e.what()) == "dir\\n/x.json: /a\\0b: value \"\\xff\" is bad\\n");
    CHECK(e.file() == "dir\n/x.json");  // the parts keep what they were given
}

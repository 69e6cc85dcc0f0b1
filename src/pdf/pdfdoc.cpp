// pdfdoc — the C face of libqpdf for uploaded PDFs (see pdfdoc.h). Every extern "C" function
// catches everything: exceptions end here as -1 and a message.
#include "pdf/pdfdoc.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <set>
#include <string>
#include <vector>

#define POINTERHOLDER_TRANSITION 4 /* qpdf 11: std::shared_ptr only, no PointerHolder */
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFAcroFormDocumentHelper.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>

namespace
{

// A refusal with its message ("The PDF " + what), thrown inside this file only.
struct Refusal {
    std::string what;
};

[[noreturn]] void refuse(std::string what)
{
    throw Refusal{std::move(what)};
}

void set_err(char *err, size_t err_len, const std::string &msg)
{
    if (err && err_len)
        std::snprintf(err, err_len, "%s", msg.c_str());
}

// Inside a catch (...): the message of the exception being handled.
void explain_exception(char *err, size_t err_len)
{
    try {
        throw;
    } catch (Refusal &r) {
        set_err(err, err_len, r.what);
    } catch (QPDFExc &e) {
        set_err(err, err_len, "could not be read (" + e.getMessageDetail() + ")");
    } catch (std::bad_alloc &) {
        set_err(err, err_len, "could not be read (out of memory)");
    } catch (std::exception &e) {
        set_err(err, err_len, std::string("could not be read (") + e.what() + ")");
    } catch (...) {
        set_err(err, err_len, "could not be read");
    }
}

// Counts decoded bytes and stops the stream once a cap is passed: qpdf reports the exception
// as a failed decode, and over() tells the two apart.
class CountingSink : public Pipeline
{
  public:
    CountingSink(size_t cap) : Pipeline("pdfdoc-count", nullptr), cap_(cap)
    {
    }
    void write(unsigned char const *, size_t len) override
    {
        bytes_ += len;
        if (bytes_ > cap_) {
            over_ = true;
            throw std::length_error("decoded stream over the limit");
        }
    }
    void finish() override
    {
    }
    size_t bytes() const
    {
        return bytes_;
    }
    bool over() const
    {
        return over_;
    }

  private:
    size_t cap_;
    size_t bytes_ = 0;
    bool over_ = false;
};

// Depth of direct containers in o (indirect references are not followed: every object is
// visited on its own). Stops counting past the limit.
int depth_of(QPDFObjectHandle o, int depth)
{
    if (depth > PDFDOC_MAX_DEPTH)
        return depth;
    int deepest = depth;
    if (o.isStream())
        o = o.getDict();
    if (o.isArray()) {
        int n = o.getArrayNItems();
        for (int i = 0; i < n && deepest <= PDFDOC_MAX_DEPTH; i++) {
            QPDFObjectHandle item = o.getArrayItem(i);
            if (!item.isIndirect() && (item.isArray() || item.isDictionary()))
                deepest = std::max(deepest, depth_of(item, depth + 1));
        }
    } else if (o.isDictionary()) {
        for (auto const &key : o.getKeys()) {
            QPDFObjectHandle item = o.getKey(key);
            if (!item.isIndirect() && (item.isArray() || item.isDictionary()))
                deepest = std::max(deepest, depth_of(item, depth + 1));
            if (deepest > PDFDOC_MAX_DEPTH)
                break;
        }
    }
    return deepest;
}

std::string objname(QPDFObjectHandle const &o)
{
    return std::to_string(o.getObjectID()) + " " + std::to_string(o.getGeneration()) + " R";
}

void check_objects(QPDF &q)
{
    if (q.getObjectCount() > PDFDOC_MAX_OBJECTS)
        refuse("has " + std::to_string(q.getObjectCount()) + " objects, more than the limit of " +
               std::to_string(PDFDOC_MAX_OBJECTS));
    size_t total = 0;
    for (auto &o : q.getAllObjects()) {
        if (depth_of(o, 0) > PDFDOC_MAX_DEPTH)
            refuse("nests arrays or dictionaries deeper than " + std::to_string(PDFDOC_MAX_DEPTH) +
                   " levels (object " + objname(o) + ")");
        if (!o.isStream())
            continue;
        CountingSink sink(PDFDOC_MAX_STREAM_BYTES);
        bool ok = o.pipeStreamData(&sink, 0, qpdf_dl_generalized, true, false);
        if (sink.over())
            refuse("has a stream (object " + objname(o) + ") that decompresses to more than " +
                   std::to_string(PDFDOC_MAX_STREAM_BYTES >> 20) + " MiB (a decompression bomb?)");
        if (!ok)
            refuse("has a stream (object " + objname(o) + ") that cannot be decoded");
        total += sink.bytes();
        if (total > PDFDOC_MAX_DECODED_BYTES)
            refuse("has streams that decompress to more than " +
                   std::to_string(PDFDOC_MAX_DECODED_BYTES >> 20) + " MiB together (a decompression bomb?)");
    }
}

// The rectangle a viewer shows (crop box, falling back to the media box), rotated.
void page_geometry(QPDFPageObjectHelper &page, int number, double *w, double *h, int *rotate)
{
    QPDFObjectHandle box = page.getCropBox(false, false);
    if (!box.isRectangle())
        refuse("has no valid media box on page " + std::to_string(number));
    QPDFObjectHandle::Rectangle r = box.getArrayAsRectangle();
    double bw = std::fabs(r.urx - r.llx), bh = std::fabs(r.ury - r.lly);
    if (!(bw >= 1 && bh >= 1 && bw <= 14400 && bh <= 14400))
        refuse("has a page box of " + std::to_string((int)bw) + "×" + std::to_string((int)bh) +
               " pt on page " + std::to_string(number) + " (1 to 14400 pt allowed)");
    int rot = 0;
    QPDFObjectHandle ro = page.getAttribute("/Rotate", false);
    if (ro.isInteger())
        rot = (int)(((ro.getIntValue() % 360) + 360) % 360);
    if (rot % 90)
        rot = 0; // viewers ignore a /Rotate that is not a multiple of 90
    bool quarter = rot == 90 || rot == 270;
    *w = quarter ? bh : bw;
    *h = quarter ? bw : bh;
    *rotate = rot;
}

void check_pages(QPDF &q, pdfdoc_info_t *info, json_t **pages)
{
    QPDFObjectHandle tree = q.getRoot().getKey("/Pages");
    QPDFObjectHandle count = tree.getKey("/Count");
    if (count.isInteger() && count.getIntValue() > PDFDOC_MAX_PAGES)
        refuse("has " + std::to_string(count.getIntValue()) + " pages, more than the limit of " +
               std::to_string(PDFDOC_MAX_PAGES));
    std::vector<QPDFPageObjectHelper> all = QPDFPageDocumentHelper(q).getAllPages();
    if (all.empty())
        refuse("has no pages");
    if (all.size() > PDFDOC_MAX_PAGES)
        refuse("has " + std::to_string(all.size()) + " pages, more than the limit of " +
               std::to_string(PDFDOC_MAX_PAGES));
    info->pages = (int)all.size();
    json_t *list = pages ? json_array() : nullptr;
    if (pages)
        *pages = list; // owned by the caller from here on, also when a later page is refused
    for (size_t i = 0; i < all.size(); i++) {
        double w, h;
        int rot;
        page_geometry(all[i], (int)i + 1, &w, &h, &rot);
        if (i == 0) {
            info->width = w;
            info->height = h;
            info->rotate = rot;
        }
        if (list)
            json_array_append_new(list, json_pack("{s:i, s:f, s:f, s:i}", "page", (int)i + 1, "width",
                                                  std::round(w * 100) / 100, "height",
                                                  std::round(h * 100) / 100, "rotate", rot));
    }
}

// Opens data strictly: no repair, no password (see pdfdoc.h).
void open_pdf(QPDF &q, const unsigned char *data, size_t len)
{
    if (!pdfdoc_sniff(data, len))
        refuse("is not a PDF (no %PDF- header)");
    q.setSuppressWarnings(true);
    q.setAttemptRecovery(false);
    try {
        q.processMemoryFile("upload.pdf", reinterpret_cast<char const *>(data), len, "");
    } catch (QPDFExc &e) {
        if (e.getErrorCode() == qpdf_e_password)
            refuse("is encrypted and needs a password; upload it without encryption");
        refuse("is damaged or truncated (" + e.getMessageDetail() + ")");
    }
}

} // namespace

extern "C" bool pdfdoc_sniff(const unsigned char *data, size_t len)
{
    size_t n = len < 1024 ? len : 1024;
    return data && n >= 5 && memmem(data, n, "%PDF-", 5) != nullptr;
}

extern "C" int pdfdoc_check(const unsigned char *data, size_t len, pdfdoc_info_t *info, json_t **pages,
                            char *err, size_t err_len)
{
    std::memset(info, 0, sizeof *info);
    if (pages)
        *pages = nullptr;
    try {
        QPDF q;
        open_pdf(q, data, len);
        info->encrypted = q.isEncrypted();
        std::snprintf(info->version, sizeof info->version, "%s", q.getPDFVersion().c_str());
        check_objects(q);
        check_pages(q, info, pages);
        QPDFAcroFormDocumentHelper forms(q);
        if (forms.hasAcroForm()) {
            // qpdf lists a field once per widget (a radio group's buttons): count names.
            std::set<std::string> names;
            for (auto &f : forms.getFormFields())
                names.insert(f.getFullyQualifiedName());
            info->form_fields = (int)names.size();
        }
        return 0;
    } catch (...) {
        explain_exception(err, err_len);
    }
    if (pages && *pages) {
        json_decref(*pages);
        *pages = nullptr;
    }
    return -1;
}

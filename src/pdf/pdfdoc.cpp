// pdfdoc — the C face of libqpdf for uploaded PDFs (see pdfdoc.h). Every extern "C" function
// catches everything: exceptions end here as -1 and a message.
#include "pdf/pdfdoc.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <exception>
#include <new>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define POINTERHOLDER_TRANSITION 4 /* qpdf 11: std::shared_ptr only, no PointerHolder */
#include <qpdf/Pipeline.hh>
#include <qpdf/QPDF.hh>
#include <qpdf/QPDFAcroFormDocumentHelper.hh>
#include <qpdf/QPDFExc.hh>
#include <qpdf/QPDFObjectHandle.hh>
#include <qpdf/QPDFPageDocumentHelper.hh>
#include <qpdf/QPDFPageObjectHelper.hh>
#include <qpdf/QPDFWriter.hh>
#include <qpdf/Buffer.hh>
#include <qpdf/QPDFCryptoImpl.hh>
#include <qpdf/QPDFCryptoProvider.hh>
#include <qpdf/QUtil.hh>

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

namespace
{

// ---- AcroForm ----

std::string field_type(QPDFFormFieldObjectHelper &f)
{
    std::string ft = f.getFieldType();
    if (ft == "/Tx")
        return "text";
    if (ft == "/Ch")
        return "choice";
    if (ft == "/Sig")
        return "signature";
    if (ft == "/Btn")
        return f.isCheckbox() ? "checkbox" : f.isRadioButton() ? "radio" : "button";
    return "unknown";
}

// The "on" appearance states of a button field's widgets (e.g. Yes; a radio group's choices).
// qpdf lists a field once per widget when they are merged (radio buttons): all of them come.
std::vector<std::string> on_states(QPDFAcroFormDocumentHelper &forms,
                                   std::vector<QPDFFormFieldObjectHelper> &fs)
{
    std::vector<std::string> states;
    for (auto &f : fs)
        for (auto &w : forms.getAnnotationsForField(f)) {
            QPDFObjectHandle n = w.getAppearanceDictionary().getKey("/N");
            if (!n.isDictionary())
                continue;
            for (auto const &k : n.getKeys())
                if (k != "/Off" && std::find(states.begin(), states.end(), k.substr(1)) == states.end())
                    states.push_back(k.substr(1));
        }
    return states;
}

std::string join(std::vector<std::string> const &v, size_t max)
{
    std::string out;
    for (size_t i = 0; i < v.size() && i < max; i++)
        out += (i ? ", " : "") + v[i];
    if (v.size() > max)
        out += ", …";
    return out;
}

void fill_one(QPDFAcroFormDocumentHelper &forms, std::vector<QPDFFormFieldObjectHelper> &widgets,
              std::string const &name, json_t *value)
{
    QPDFFormFieldObjectHelper f = widgets.front();
    std::string type = field_type(f);
    std::string quoted = "form field \"" + name + "\"";
    if (type == "text") {
        std::string v;
        if (json_is_string(value))
            v = json_string_value(value);
        else if (json_is_integer(value))
            v = std::to_string(json_integer_value(value));
        else if (json_is_real(value)) {
            char num[64];
            std::snprintf(num, sizeof num, "%.15g", json_real_value(value));
            v = num;
        } else
            refuse("has a text " + quoted + ": give it a string");
        f.setV(v, true);
    } else if (type == "choice") {
        if (!json_is_string(value))
            refuse("has a choice " + quoted + ": give it one of its options as a string");
        std::string v = json_string_value(value);
        std::vector<std::string> choices = f.getChoices();
        bool editable = f.getFlags() & ff_ch_edit;
        if (!editable && std::find(choices.begin(), choices.end(), v) == choices.end())
            refuse("has a choice " + quoted + " without the option \"" + v +
                   "\" (options: " + join(choices, 20) + ")");
        f.setV(v, true);
    } else if (type == "checkbox") {
        if (!json_is_boolean(value))
            refuse("has a checkbox " + quoted + ": give it true or false");
        f.setV(QPDFObjectHandle::newName(json_is_true(value) ? "/Yes" : "/Off"), true);
    } else if (type == "radio") {
        if (!json_is_string(value))
            refuse("has a radio group " + quoted + ": give it one of its states as a string");
        std::string v = json_string_value(value);
        std::vector<std::string> states = on_states(forms, widgets);
        if (v != "Off" && std::find(states.begin(), states.end(), v) == states.end())
            refuse("has a radio group " + quoted + " without the state \"" + v +
                   "\" (states: " + join(states, 20) + ")");
        f.setV(QPDFObjectHandle::newName("/" + v), true);
    } else
        refuse("has a " + type + " " + quoted + ", which cannot be filled");
}

void fill_form(QPDF &q, const json_t *fill)
{
    QPDFAcroFormDocumentHelper forms(q);
    std::map<std::string, std::vector<QPDFFormFieldObjectHelper>> by_name;
    if (forms.hasAcroForm())
        for (auto &f : forms.getFormFields())
            by_name[f.getFullyQualifiedName()].push_back(f);
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)fill, key, value)
    {
        auto it = by_name.find(key);
        if (it == by_name.end()) {
            std::vector<std::string> names;
            for (auto &kv : by_name)
                names.push_back(kv.first);
            refuse("has no form field \"" + std::string(key) + "\"" +
                   (names.empty() ? std::string(" (it has no form)") : " (fields: " + join(names, 20) + ")"));
        }
        if (!json_is_null(value))
            fill_one(forms, it->second, key, value);
    }
    forms.generateAppearancesIfNeeded();
}

// ---- overlay ----

bool page_is_empty(QPDFPageObjectHelper &page)
{
    std::string all;
    for (auto &c : page.getPageContents()) {
        std::shared_ptr<Buffer> b = c.getStreamData(qpdf_dl_generalized);
        all.append(reinterpret_cast<char const *>(b->getBuffer()), b->getSize());
        if (all.find_first_not_of(" \t\r\n") != std::string::npos)
            return false;
    }
    return true;
}

// An overlay page larger than its base page as shown (a base of mixed page sizes is drawn as
// one document of the largest size, everything measured from the top-left): the form XObject
// keeps the top-left part of the base page's shown size, so that it is placed at scale 1 and
// what lies beyond the page is clipped.
void clip_to_shown(QPDFObjectHandle &fo, QPDFPageObjectHelper &page, size_t number)
{
    double sw, sh;
    int rot;
    page_geometry(page, (int)number, &sw, &sh, &rot);
    QPDFObjectHandle bbox = fo.getDict().getKey("/BBox");
    if (!bbox.isRectangle())
        return;
    QPDFObjectHandle::Rectangle b = bbox.getArrayAsRectangle();
    double llx = std::min(b.llx, b.urx), ury = std::max(b.lly, b.ury);
    double bw = std::fabs(b.urx - b.llx), bh = std::fabs(b.ury - b.lly);
    if (bw - sw < 0.01 && bh - sh < 0.01)
        return;
    QPDFObjectHandle::Rectangle top_left(llx, ury - std::min(sh, bh), llx + std::min(sw, bw), ury);
    fo.getDict().replaceKey("/BBox", QPDFObjectHandle::newFromRectangle(top_left));
}

// The overlay page as a form XObject. qpdf's makes its content a new, decoded stream that the
// writer compresses again; a page of one content stream (cairo writes one) keeps that
// stream's encoded bytes and filter instead.
QPDFObjectHandle form_of(QPDFPageObjectHelper &page)
{
    QPDFObjectHandle form = page.getFormXObjectForPage();
    std::vector<QPDFObjectHandle> contents = page.getPageContents();
    if (contents.size() == 1)
        form.replaceStreamData(contents[0].getRawStreamData(), contents[0].getDict().getKey("/Filter"),
                               contents[0].getDict().getKey("/DecodeParms"));
    return form;
}

void stamp(QPDF &base, QPDF &over)
{
    std::vector<QPDFPageObjectHelper> dst = QPDFPageDocumentHelper(base).getAllPages();
    std::vector<QPDFPageObjectHelper> src = QPDFPageDocumentHelper(over).getAllPages();
    if (src.size() != dst.size())
        refuse("overlay has " + std::to_string(src.size()) + " pages for a base of " +
               std::to_string(dst.size()));
    // The wrapping streams are the same on most pages (one name, one page size): each distinct
    // one is written once and shared, since QPDFWriter compresses every new stream on its own and
    // setting up a deflate stream costs more than the few bytes it compresses.
    std::map<std::string, QPDFObjectHandle> shared;
    auto stream = [&](std::string const &text) {
        auto it = shared.find(text);
        if (it == shared.end())
            it = shared.emplace(text, QPDFObjectHandle::newStream(&base, text)).first;
        return it->second;
    };
    for (size_t i = 0; i < dst.size(); i++) {
        if (page_is_empty(src[i]))
            continue;
        QPDFPageObjectHelper &page = dst[i];
        QPDFObjectHandle fo = base.copyForeignObject(form_of(src[i]));
        clip_to_shown(fo, page, i + 1);
        // The page's own resources and XObject dictionaries, so that a name added here never
        // lands in a dictionary other pages share.
        QPDFObjectHandle res = page.getAttribute("/Resources", false);
        res = res.isDictionary() ? res.shallowCopy() : QPDFObjectHandle::newDictionary();
        QPDFObjectHandle xo = res.getKey("/XObject");
        xo = xo.isDictionary() ? xo.shallowCopy() : QPDFObjectHandle::newDictionary();
        res.replaceKey("/XObject", xo);
        page.getObjectHandle().replaceKey("/Resources", res);
        int suffix = 0;
        std::string name = res.getUniqueResourceName("/Ck", suffix);
        QPDFObjectHandle::Rectangle box = page.getCropBox(false, false).getArrayAsRectangle();
        std::string place = page.placeFormXObject(fo, name, box, true, true, true);
        xo.replaceKey(name, fo);
        page.addPageContents(stream("q\n"), true);
        page.addPageContents(stream("\nQ\n" + place + "\n"), false);
    }
}

// ---- fields listing ----

// (x, y) of default user space → the shown page (crop box turned by /Rotate), from its top-left.
void to_shown(QPDFObjectHandle::Rectangle const &crop, int rotate, double x, double y, double *sx, double *sy)
{
    double w = crop.urx - crop.llx, h = crop.ury - crop.lly;
    double u = x - crop.llx, v = crop.ury - y;
    switch (rotate) {
    case 90: *sx = h - v, *sy = u; break;
    case 180: *sx = w - u, *sy = h - v; break;
    case 270: *sx = v, *sy = w - u; break;
    default: *sx = u, *sy = v;
    }
}

double round2(double v)
{
    return std::round(v * 100) / 100;
}

json_t *describe_field(QPDFAcroFormDocumentHelper &forms, std::vector<QPDFFormFieldObjectHelper> &fs,
                       std::map<QPDFObjGen, int> const &page_of, std::vector<QPDFPageObjectHelper> &pages)
{
    QPDFFormFieldObjectHelper &f = fs.front();
    std::string type = field_type(f);
    json_t *o = json_pack("{s:s, s:s}", "name", f.getFullyQualifiedName().c_str(), "type", type.c_str());
    if (type == "text" || type == "choice") {
        std::string v = f.getValueAsString();
        json_object_set_new(o, "value", json_string(v.c_str()));
    }
    if (type == "choice" || type == "radio" || type == "checkbox") {
        json_t *opts = json_array();
        for (auto &c : type == "choice" ? f.getChoices() : on_states(forms, fs))
            json_array_append_new(opts, json_string(c.c_str()));
        json_object_set_new(o, "options", opts);
    }
    std::vector<QPDFAnnotationObjectHelper> widgets = forms.getAnnotationsForField(f);
    if (!widgets.empty()) {
        QPDFAnnotationObjectHelper &w = widgets.front();
        QPDFObjectHandle p = w.getObjectHandle().getKey("/P");
        auto it = p.isIndirect() ? page_of.find(p.getObjGen()) : page_of.end();
        if (it == page_of.end()) // no /P: the page whose /Annots holds it
            for (size_t i = 0; i < pages.size() && it == page_of.end(); i++)
                for (auto &a : pages[i].getAnnotations())
                    if (a.getObjectHandle().getObjGen() == w.getObjectHandle().getObjGen())
                        it = page_of.find(pages[i].getObjectHandle().getObjGen());
        if (it != page_of.end()) {
            QPDFPageObjectHelper &page = pages[(size_t)it->second];
            QPDFObjectHandle::Rectangle crop = page.getCropBox(false, false).getArrayAsRectangle();
            QPDFObjectHandle ro = page.getAttribute("/Rotate", false);
            int rot = ro.isInteger() ? (int)(((ro.getIntValue() % 360) + 360) % 360) : 0;
            QPDFObjectHandle::Rectangle r = w.getRect();
            double x1, y1, x2, y2;
            to_shown(crop, rot % 90 ? 0 : rot, r.llx, r.lly, &x1, &y1);
            to_shown(crop, rot % 90 ? 0 : rot, r.urx, r.ury, &x2, &y2);
            json_object_set_new(o, "page", json_integer(it->second + 1));
            json_object_set_new(o, "rect",
                                json_pack("[f, f, f, f]", round2(std::min(x1, x2)), round2(std::min(y1, y2)),
                                          round2(std::fabs(x2 - x1)), round2(std::fabs(y2 - y1))));
        }
    }
    return o;
}

} // namespace

extern "C" int pdfdoc_merge(const unsigned char *base, size_t base_len, const json_t *fill, bool flatten,
                            const unsigned char *overlay, size_t overlay_len, unsigned char **out,
                            size_t *out_len, char *err, size_t err_len)
{
    *out = nullptr;
    *out_len = 0;
    try {
        QPDF q;
        open_pdf(q, base, base_len);
        if (fill && json_object_size(fill))
            fill_form(q, fill);
        if (flatten) {
            QPDFAcroFormDocumentHelper forms(q);
            if (forms.hasAcroForm())
                forms.generateAppearancesIfNeeded();
            QPDFPageDocumentHelper(q).flattenAnnotations();
        }
        QPDF over;
        if (overlay) {
            open_pdf(over, overlay, overlay_len);
            stamp(q, over);
        }
        QPDFWriter w(q);
        w.setOutputMemory();
        w.setDecodeLevel(qpdf_dl_none);
        // Streams are not decoded: the base's compressed streams are copied byte for byte
        // (uncompressed ones get compressed, which also applies the appearance streams
        // qpdf generated for filled fields: they are written through a token filter).
        w.setPreserveEncryption(false);
        w.write();
        std::shared_ptr<Buffer> b = w.getBufferSharedPointer();
        unsigned char *bytes = static_cast<unsigned char *>(std::malloc(b->getSize() ? b->getSize() : 1));
        if (!bytes)
            throw std::bad_alloc();
        std::memcpy(bytes, b->getBuffer(), b->getSize());
        *out = bytes;
        *out_len = b->getSize();
        return 0;
    } catch (...) {
        explain_exception(err, err_len);
    }
    return -1;
}

extern "C" int pdfdoc_fields(const unsigned char *data, size_t len, json_t **fields, char *err,
                             size_t err_len)
{
    *fields = nullptr;
    json_t *list = json_array();
    try {
        QPDF q;
        open_pdf(q, data, len);
        std::vector<QPDFPageObjectHelper> pages = QPDFPageDocumentHelper(q).getAllPages();
        std::map<QPDFObjGen, int> page_of;
        for (size_t i = 0; i < pages.size(); i++)
            page_of[pages[i].getObjectHandle().getObjGen()] = (int)i;
        QPDFAcroFormDocumentHelper forms(q);
        std::vector<std::string> order;
        std::map<std::string, std::vector<QPDFFormFieldObjectHelper>> by_name;
        if (forms.hasAcroForm())
            for (auto &f : forms.getFormFields()) {
                std::vector<QPDFFormFieldObjectHelper> &same = by_name[f.getFullyQualifiedName()];
                if (same.empty())
                    order.push_back(f.getFullyQualifiedName());
                same.push_back(f);
            }
        for (size_t i = 0; i < order.size() && i < PDFDOC_MAX_FIELDS; i++)
            json_array_append_new(list, describe_field(forms, by_name[order[i]], page_of, pages));
        *fields = list;
        return 0;
    } catch (...) {
        explain_exception(err, err_len);
    }
    json_decref(list);
    return -1;
}

namespace
{

// ---- merging many files: an incremental writer (pdfdoc_merge_files) ----

constexpr int CATALOG_NUM = 1; // object numbers fixed in every merged file
constexpr int PAGES_NUM = 2;
constexpr size_t OUT_BUFFER = 1 << 20;            // stdio buffer of the merged file
constexpr size_t XREF_OFFSET_MAX = 9999999999ULL; // what a 10-digit xref entry holds

// A name as PDF writes it: delimiters, '#', and bytes outside ! .. ~ as #xx. (qpdf 11.3's own
// unparse leaves a '#' bare, which readers take for the start of an escape.) qpdf keeps a
// stray '#' of the source (one not followed by two hex digits) as a NUL: written as #23.
std::string pdf_name(std::string const &name)
{
    static char const hex[] = "0123456789ABCDEF";
    std::string out = "/";
    for (size_t i = 1; i < name.size(); i++) {
        unsigned char c = static_cast<unsigned char>(name[i]);
        if (c == 0)
            c = '#';
        if (c < 33 || c > 126 || std::strchr("#()<>[]{}/%", c)) {
            out += '#';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string ref_to(int num)
{
    return std::to_string(num) + " 0 R";
}

// The merged file as it is written: its bytes go to disk at once; what stays is the offset of
// every object (8 bytes each) and a running MD5 of the bytes for the deterministic /ID.
class MergeOut
{
  public:
    explicit MergeOut(const char *path) : md5_(QPDFCryptoProvider::getImpl()), buffer_(OUT_BUFFER)
    {
        f_ = std::fopen(path, "wb");
        if (!f_)
            refuse(std::string("could not be written (") + std::strerror(errno) + ")");
        std::setvbuf(f_, buffer_.data(), _IOFBF, buffer_.size());
        md5_->MD5_init();
        offsets_.assign(PAGES_NUM + 1, 0); // 0: the free head; the catalog and the page tree
        put("%PDF-1.7\n%\xbf\xf7\xa2\xfe\n");
    }
    ~MergeOut()
    {
        if (f_)
            std::fclose(f_);
    }
    MergeOut(MergeOut const &) = delete;
    MergeOut &operator=(MergeOut const &) = delete;

    void put(unsigned char const *data, size_t len)
    {
        if (len && std::fwrite(data, 1, len, f_) != len)
            refuse(std::string("could not be written (") + std::strerror(errno) + ")");
        if (hashing_)
            md5_->MD5_update(data, len);
        pos_ += len;
    }
    void put(std::string const &s)
    {
        put(reinterpret_cast<unsigned char const *>(s.data()), s.size());
    }
    // A new object number, written later with object() or begin()/end().
    int reserve()
    {
        offsets_.push_back(0);
        return static_cast<int>(offsets_.size() - 1);
    }
    void begin(int num)
    {
        offsets_[static_cast<size_t>(num)] = pos_;
        put(std::to_string(num) + " 0 obj\n");
    }
    void end()
    {
        put("\nendobj\n");
    }
    void object(int num, std::string const &body)
    {
        begin(num);
        put(body);
        end();
    }
    // The cross-reference table and the trailer; closes the file.
    void finish(int info);

  private:
    std::shared_ptr<QPDFCryptoImpl> md5_;
    std::vector<char> buffer_;
    std::vector<size_t> offsets_;
    std::FILE *f_ = nullptr;
    size_t pos_ = 0;
    bool hashing_ = true;
};

void MergeOut::finish(int info)
{
    size_t xref = pos_;
    if (xref > XREF_OFFSET_MAX)
        refuse("would be larger than 9.9 GB");
    md5_->MD5_finalize();
    hashing_ = false; // the /ID covers everything before the cross-reference table
    QPDFCryptoImpl::MD5_Digest digest;
    md5_->MD5_digest(digest);
    std::string id =
        "<" + QUtil::hex_encode(std::string(reinterpret_cast<char *>(digest), sizeof digest)) + ">";
    std::string s = "xref\n0 " + std::to_string(offsets_.size()) + "\n0000000000 65535 f \n";
    char line[32];
    for (size_t i = 1; i < offsets_.size(); i++) {
        if (offsets_[i] == 0)
            throw std::logic_error("object " + std::to_string(i) + " was never written");
        std::snprintf(line, sizeof line, "%010zu 00000 n \n", offsets_[i]);
        s += line;
        if (s.size() >= OUT_BUFFER) {
            put(s);
            s.clear();
        }
    }
    s += "trailer\n<< /Size " + std::to_string(offsets_.size()) + " /Root " + ref_to(CATALOG_NUM) +
         " /Info " + ref_to(info) + " /ID [" + id + id + "] >>\nstartxref\n" + std::to_string(xref) +
         "\n%%EOF\n";
    put(s);
    std::FILE *f = f_;
    f_ = nullptr;
    if (std::fclose(f) != 0)
        refuse(std::string("could not be written (") + std::strerror(errno) + ")");
}

// One part copied into the merged file: its pages get the next object numbers (in page order),
// then every object reachable from them is written once, renumbered, in the order first met.
// References to the part's catalog and page tree nodes (a page's /Parent, an annotation going
// to the catalog) become null; each page's /Parent is the merged page tree.
class PartCopy
{
  public:
    PartCopy(MergeOut &out, QPDF &src) : out_(out), src_(src)
    {
    }
    // Writes the part; appends its pages' new object numbers to kids.
    void run(std::vector<int> &kids);

  private:
    void mark_tree(QPDFObjectHandle node, int depth);
    std::string ref(QPDFObjectHandle h);
    void value(std::string &s, QPDFObjectHandle h, int depth);
    void direct(std::string &s, QPDFObjectHandle h, int depth);
    void dict(std::string &s, QPDFObjectHandle d, int depth, std::string const &key, std::string const &val);
    void write(QPDFObjectHandle h, int num);

    MergeOut &out_;
    QPDF &src_;
    std::map<QPDFObjGen, int> nums_; // source object → merged number (0: written as null)
    std::set<QPDFObjGen> pages_;
    std::deque<std::pair<QPDFObjectHandle, int>> todo_;
};

// The catalog and the page tree's inner nodes map to null.
void PartCopy::mark_tree(QPDFObjectHandle node, int depth)
{
    if (!node.isIndirect() || nums_.count(node.getObjGen()) || pages_.count(node.getObjGen()) ||
        depth > PDFDOC_MAX_DEPTH)
        return;
    nums_[node.getObjGen()] = 0;
    QPDFObjectHandle kids = node.isDictionary() ? node.getKey("/Kids") : QPDFObjectHandle::newNull();
    for (int i = 0; kids.isArray() && i < kids.getArrayNItems(); i++)
        mark_tree(kids.getArrayItem(i), depth + 1);
}

void PartCopy::run(std::vector<int> &kids)
{
    src_.pushInheritedAttributesToPage(); // /Resources, /MediaBox, /CropBox, /Rotate onto pages
    std::vector<QPDFObjectHandle> const &pages = src_.getAllPages();
    if (pages.empty())
        refuse("has no pages");
    for (auto const &p : pages) {
        int num = out_.reserve();
        nums_[p.getObjGen()] = num;
        pages_.insert(p.getObjGen());
        todo_.emplace_back(p, num);
        kids.push_back(num);
    }
    QPDFObjectHandle root = src_.getRoot();
    nums_[root.getObjGen()] = 0;
    mark_tree(root.getKey("/Pages"), 0);
    while (!todo_.empty()) {
        std::pair<QPDFObjectHandle, int> next = todo_.front();
        todo_.pop_front();
        write(next.first, next.second);
    }
}

std::string PartCopy::ref(QPDFObjectHandle h)
{
    QPDFObjGen og = h.getObjGen();
    auto known = nums_.find(og);
    if (known != nums_.end())
        return known->second ? ref_to(known->second) : "null";
    // A page outside the page tree, a page tree node or nothing at all (a dangling reference)
    bool dropped = h.isNull() || h.isPageObject() || h.isPagesObject();
    int num = dropped ? 0 : out_.reserve();
    nums_[og] = num;
    if (dropped)
        return "null";
    todo_.emplace_back(h, num);
    return ref_to(num);
}

void PartCopy::value(std::string &s, QPDFObjectHandle h, int depth)
{
    if (h.isIndirect())
        s += ref(h);
    else
        direct(s, h, depth);
}

// h's own serialization (also of an indirect h); what h refers to as references.
void PartCopy::direct(std::string &s, QPDFObjectHandle h, int depth)
{
    if (depth > PDFDOC_MAX_DEPTH)
        refuse("nests arrays or dictionaries deeper than " + std::to_string(PDFDOC_MAX_DEPTH) + " levels");
    switch (h.getTypeCode()) {
    case ::ot_array:
        s += '[';
        for (auto item : h.aitems()) {
            value(s, item, depth + 1);
            s += ' ';
        }
        s += ']';
        break;
    case ::ot_dictionary: dict(s, h, depth, "", ""); break;
    case ::ot_name: s += pdf_name(h.getName()); break;
    case ::ot_boolean:
    case ::ot_integer:
    case ::ot_real:
    case ::ot_string:
        s += h.unparseResolved(); // qpdf's: reals as read, strings as (…) with escapes or <hex>
        break;
    default: // null, and what cannot stand here (a direct stream, an operator)
        s += "null";
    }
}

// << … >> of d, keys in order; key (when not empty) is replaced by val.
void PartCopy::dict(std::string &s, QPDFObjectHandle d, int depth, std::string const &key,
                    std::string const &val)
{
    s += "<<";
    for (auto item : d.ditems()) {
        if (item.first == key || item.second.isNull())
            continue;
        s += pdf_name(item.first) + ' ';
        value(s, item.second, depth + 1);
        s += ' ';
    }
    if (!key.empty())
        s += key + ' ' + val;
    s += ">>";
}

void PartCopy::write(QPDFObjectHandle h, int num)
{
    std::string s;
    if (h.isStream()) {
        // As stored: still filtered (decrypted when the part was encrypted), /Length its size.
        std::shared_ptr<Buffer> data = h.getRawStreamData();
        dict(s, h.getDict(), 0, "/Length", std::to_string(data->getSize()));
        s += "\nstream\n";
        out_.begin(num);
        out_.put(s);
        out_.put(data->getBuffer(), data->getSize());
        out_.put("\nendstream");
        out_.end();
        return;
    }
    if (pages_.count(h.getObjGen()))
        dict(s, h, 0, "/Parent", ref_to(PAGES_NUM));
    else
        direct(s, h, 0);
    out_.object(num, s);
}

// The file at path, whole, into bytes when it is at most PDFDOC_PART_READ_WHOLE_MAX bytes;
// false when it is larger or cannot be read (qpdf then reads it and reports why).
bool read_whole(const char *path, std::string &bytes)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= PDFDOC_PART_READ_WHOLE_MAX;
    if (ok) {
        bytes.resize(static_cast<size_t>(st.st_size));
        size_t got = 0;
        while (ok && got < bytes.size()) {
            ssize_t n = read(fd, &bytes[got], bytes.size() - got);
            if (n < 0 && errno == EINTR)
                continue;
            ok = n > 0;
            got += ok ? static_cast<size_t>(n) : 0;
        }
    }
    close(fd);
    return ok;
}

// Opens a part: any PDF, repaired when damaged; an encrypted one only with the empty user
// password (then decrypted). A small part is parsed from memory (bytes, which must outlive
// src): qpdf reading a file seeks and reads for every token.
void open_part(QPDF &src, const char *path, std::string &bytes)
{
    src.setSuppressWarnings(true);
    try {
        if (read_whole(path, bytes))
            src.processMemoryFile(path, bytes.data(), bytes.size());
        else
            src.processFile(path);
    } catch (QPDFExc &e) {
        if (e.getErrorCode() == qpdf_e_password)
            refuse("is encrypted and needs a password");
        throw;
    }
}

// major * 100 + minor of "1.7"
int version_rank(std::string const &v)
{
    int major = 1, minor = 0;
    std::sscanf(v.c_str(), "%d.%d", &major, &minor);
    return major * 100 + minor;
}

// A PDF literal string of an ASCII line: ( ) \ escaped, other bytes shown as '?'.
std::string pdf_literal(std::string const &line)
{
    std::string out = "(";
    for (size_t i = 0; i < line.size() && i < PDFDOC_NOTE_LINE_MAX; i++) {
        unsigned char c = static_cast<unsigned char>(line[i]);
        if (c == '(' || c == ')' || c == '\\')
            out += '\\';
        out += (c >= 0x20 && c < 0x7f) ? static_cast<char>(c) : '?';
    }
    return out + ")";
}

// The note's lines on A4 pages of their own (Helvetica 11 pt, 14 pt apart), appended to kids;
// returns the first one's number.
int write_note_pages(MergeOut &out, std::string const &note, std::vector<int> &kids)
{
    std::vector<std::string> lines;
    size_t at = 0;
    while (at <= note.size()) {
        size_t nl = note.find('\n', at);
        if (nl == std::string::npos)
            nl = note.size();
        lines.push_back(note.substr(at, nl - at));
        at = nl + 1;
    }
    int font = out.reserve(), first = 0;
    out.object(font, "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>");
    for (size_t from = 0; from < lines.size(); from += PDFDOC_NOTE_LINES_PER_PAGE) {
        std::string content = "BT /F1 11 Tf 14 TL 56 785 Td\n";
        for (size_t i = from; i < lines.size() && i < from + PDFDOC_NOTE_LINES_PER_PAGE; i++)
            content += pdf_literal(lines[i]) + " Tj T*\n";
        content += "ET\n";
        int stream = out.reserve(), page = out.reserve();
        out.object(stream,
                   "<< /Length " + std::to_string(content.size()) + " >>\nstream\n" + content + "endstream");
        out.object(page, "<< /Type /Page /Parent " + ref_to(PAGES_NUM) +
                             " /MediaBox [0 0 595.28 841.89] /Resources << /Font << /F1 " + ref_to(font) +
                             " >> >> /Contents " + ref_to(stream) + " >>");
        kids.push_back(page);
        if (from == 0)
            first = page;
    }
    return first;
}

// One bookmark of the outline.
struct Bookmark {
    const char *title;
    int page;
};

// The document outline: one top-level entry per bookmark, in order, each going to its page
// fitted in the window. Returns the /Outlines dictionary's number, 0 when there is none.
int write_outline(MergeOut &out, std::vector<Bookmark> const &marks)
{
    if (marks.empty())
        return 0;
    int root = out.reserve();
    int first = out.reserve();
    for (size_t i = 1; i < marks.size(); i++)
        out.reserve(); // the entries are numbered first .. first + n - 1
    int last = first + static_cast<int>(marks.size()) - 1;
    out.object(root, "<< /Type /Outlines /First " + ref_to(first) + " /Last " + ref_to(last) + " /Count " +
                         std::to_string(marks.size()) + " >>");
    for (size_t i = 0; i < marks.size(); i++) {
        int num = first + static_cast<int>(i);
        std::string s = "<< /Title " + QPDFObjectHandle::newUnicodeString(marks[i].title).unparse() +
                        " /Parent " + ref_to(root) + " /Dest [" + ref_to(marks[i].page) + " /Fit]";
        if (num > first)
            s += " /Prev " + ref_to(num - 1);
        if (num < last)
            s += " /Next " + ref_to(num + 1);
        out.object(num, s + " >>");
    }
    return root;
}

// The page tree, the catalog (naming a version above the header's 1.7 when a part had one),
// the info dictionary, the cross-reference table.
void write_tail(MergeOut &out, std::vector<int> const &kids, int outline, int version)
{
    std::string s = "<< /Type /Pages /Count " + std::to_string(kids.size()) + " /Kids [";
    for (int k : kids)
        s += ref_to(k) + ' ';
    out.object(PAGES_NUM, s + "] >>");
    s = "<< /Type /Catalog /Pages " + ref_to(PAGES_NUM);
    if (outline)
        s += " /Outlines " + ref_to(outline) + " /PageMode /UseOutlines";
    if (version > 107)
        s += " /Version /" + std::to_string(version / 100) + "." + std::to_string(version % 100);
    out.object(CATALOG_NUM, s + " >>");
    int info = out.reserve();
    out.object(info, "<< /Producer (craftkit) >>");
    out.finish(info);
}

} // namespace

extern "C" int pdfdoc_merge_files(const pdfdoc_part_t *parts, size_t n, const char *note_title,
                                  const char *note, const char *out_path, int *pages, char *err,
                                  size_t err_len)
{
    size_t at = n;
    try {
        MergeOut out(out_path);
        std::vector<int> kids;
        std::vector<Bookmark> marks;
        std::string bytes; // the part being copied, when it is read whole (outlives src)
        int version = 107;
        marks.reserve(n + 1);
        for (at = 0; at < n; at++) {
            QPDF src; // one part in memory at a time
            open_part(src, parts[at].path, bytes);
            version = std::max(version, version_rank(src.getPDFVersion()));
            size_t first = kids.size();
            PartCopy(out, src).run(kids);
            marks.push_back({parts[at].title ? parts[at].title : "", kids[first]});
        }
        at = n;
        if (note)
            marks.push_back({note_title ? note_title : "Note", write_note_pages(out, note, kids)});
        write_tail(out, kids, write_outline(out, marks), version);
        if (pages)
            *pages = static_cast<int>(kids.size());
        return 0;
    } catch (...) {
        char why[512];
        explain_exception(why, sizeof why);
        if (at < n)
            std::snprintf(err, err_len, "part %zu (%s) %s", at, parts[at].path, why);
        else
            std::snprintf(err, err_len, "the merged PDF %s", why);
    }
    std::remove(out_path);
    return -1;
}

/* spm.cc: the SentencePiece wrapper behind seqfuse/tokenizer.h (the one C++ file
 * in seqfuse). Arguments are checked before SentencePiece sees them, since it can
 * abort on some bad input; its statuses and exceptions become sf_status + message. */
#include "seqfuse/tokenizer.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

extern "C" {
#include "core/rng.h"
#include "core/status_internal.h"
#include "core/utf8.h"
}

namespace spm = sentencepiece;
using spm::util::StatusCode;

struct sf_spm {
    spm::SentencePieceProcessor proc;
};

namespace {

const int kMinVocab = 5; /* <pad> <unk> <s> </s> and one piece of text */

/* SentencePiece's status as ours (a missing or unwritable file is an I/O error);
 * `context` says what we were doing, e.g. "loading m.model". */
sf_status from_spm(const spm::util::Status &st, const char *fn, const std::string &context)
{
    if (st.ok())
        return SF_OK;
    const StatusCode c = st.code();
    const sf_status s = (c == StatusCode::kNotFound || c == StatusCode::kPermissionDenied)
                            ? SF_ERR_IO
                            : SF_ERR_TOKENIZER;
    return sf_error(s, "%s: %s: SentencePiece says: %s", fn, context.c_str(),
                    st.ToString().c_str());
}

/* Runs body() (which returns sf_status) and turns any exception into a status. */
template <class F>
sf_status guarded(const char *fn, const char *what, F &&body)
{
    try {
        return body();
    } catch (const std::bad_alloc &) {
        return sf_error(SF_ERR_OOM, "%s: out of memory while %s", fn, what);
    } catch (const std::exception &e) {
        return sf_error(SF_ERR_TOKENIZER, "%s: SentencePiece threw while %s: %s", fn, what,
                        e.what());
    } catch (...) {
        return sf_error(SF_ERR_TOKENIZER, "%s: SentencePiece threw an unknown exception while %s",
                        fn, what);
    }
}

/* A malloc'd, NUL-terminated copy of src (the caller frees it with sf_free). */
sf_status copy_out(const char *fn, const std::string &src, char **out)
{
    char *p = static_cast<char *>(malloc(src.size() + 1));
    if (!p)
        return sf_error(SF_ERR_OOM, "%s: cannot allocate %zu bytes for the result", fn,
                        src.size() + 1);
    memcpy(p, src.data(), src.size());
    p[src.size()] = '\0';
    *out = p;
    return SF_OK;
}

sf_status check_utf8(const char *fn, const char *text, size_t len)
{
    size_t bad = 0;
    if (!sf_utf8_valid(text, len, &bad))
        return sf_error(SF_ERR_INVALID_ARG,
                        "%s: invalid UTF-8 at byte %zu of %zu; convert the text to UTF-8 "
                        "(e.g. with iconv) first",
                        fn, bad, len);
    return SF_OK;
}

/* path must be a readable regular file; role names it in the message ("model"). */
sf_status check_readable(const char *fn, const char *path, const char *role)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        return sf_error(SF_ERR_IO, "%s: cannot open %s '%s': %s", fn, role, path,
                        strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return sf_error(SF_ERR_IO, "%s: %s '%s' is a folder, expected a file", fn, role, path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return sf_error(SF_ERR_IO, "%s: cannot read %s '%s': %s", fn, role, path,
                        strerror(errno));
    fclose(f);
    return SF_OK;
}

/* The folder that PREFIX.model goes into must exist and be writable. */
sf_status check_out_dir(const char *fn, const char *prefix)
{
    const std::string p(prefix);
    const size_t slash = p.rfind('/');
    if (slash == p.size() - 1)
        return sf_error(SF_ERR_INVALID_ARG,
                        "%s: model_prefix '%s' ends in '/'; give a file stem such as '%sspm'",
                        fn, prefix, prefix);
    const std::string dir =
        slash == std::string::npos ? "." : slash == 0 ? "/" : p.substr(0, slash);
    struct stat sb;
    if (stat(dir.c_str(), &sb) != 0 || !S_ISDIR(sb.st_mode))
        return sf_error(SF_ERR_IO,
                        "%s: folder '%s' for model_prefix '%s' does not exist; create it first",
                        fn, dir.c_str(), prefix);
    if (access(dir.c_str(), W_OK) != 0)
        return sf_error(SF_ERR_IO, "%s: cannot write into folder '%s' (model_prefix '%s'): %s", fn,
                        dir.c_str(), prefix, strerror(errno));
    return SF_OK;
}

/* The non-empty lines of several files in turn, a trailing \r dropped. */
class LineReader {
  public:
    LineReader(const char *const *paths, int n) : paths_(paths), n_(n) {}

    /* false at the end, or on a read error (then failed() names the file). */
    bool next(std::string *line)
    {
        while (!failed_) {
            if (!in_.is_open()) {
                if (cur_ >= n_)
                    return false;
                in_.open(paths_[cur_], std::ios::binary);
                if (!in_.is_open()) {
                    failed_ = paths_[cur_];
                    break;
                }
            }
            if (std::getline(in_, *line)) {
                if (!line->empty() && line->back() == '\r')
                    line->pop_back();
                if (!line->empty())
                    return true;
                continue;
            }
            if (in_.bad()) {
                failed_ = paths_[cur_];
                break;
            }
            in_.close();
            in_.clear();
            cur_++;
        }
        return false;
    }
    const char *failed() const { return failed_; }

  private:
    const char *const *paths_;
    int n_;
    int cur_ = 0;
    std::ifstream in_;
    const char *failed_ = nullptr;
};

/* Hands training sentences to SentencePiece: streamed from the files, or from a
 * sample drawn beforehand (then reader is null). Not copyable (holds a stream). */
class Feed final : public spm::SentenceIterator {
  public:
    Feed(LineReader *reader, std::vector<std::string> *sample) : reader_(reader), sample_(sample)
    {
        Next();
    }
    bool done() const override { return done_; }
    const std::string &value() const override { return cur_; }
    void Next() override
    {
        if (sample_) {
            if (pos_ < sample_->size())
                cur_.swap((*sample_)[pos_++]);
            else
                done_ = true;
        } else if (!reader_->next(&cur_)) {
            done_ = true;
        }
    }
    spm::util::Status status() const override
    {
        if (reader_ && reader_->failed())
            return spm::util::Status(StatusCode::kDataLoss,
                                     std::string("cannot read ") + reader_->failed());
        return spm::util::Status();
    }

  private:
    LineReader *reader_;
    std::vector<std::string> *sample_;
    size_t pos_ = 0;
    std::string cur_;
    bool done_ = false;
};

sf_status read_failed(const char *fn, const char *path)
{
    return sf_error(SF_ERR_IO, "%s: error while reading training input '%s'", fn, path);
}

sf_status no_sentences(const char *fn, const sf_spm_train_opts *o)
{
    return sf_error(SF_ERR_INVALID_ARG,
                    "%s: the %d input file(s) ('%s'%s) hold no non-empty line; give text "
                    "with one sentence per line",
                    fn, o->n_inputs, o->inputs[0], o->n_inputs > 1 ? ", ..." : "");
}

/* Algorithm R: a uniform sample of at most k lines, drawn with `seed`. */
sf_status draw_sample(const char *fn, const sf_spm_train_opts *o, std::vector<std::string> *out)
{
    LineReader r(o->inputs, o->n_inputs);
    sf_rng rng;
    sf_rng_seed(&rng, o->seed);
    const int64_t k = o->input_sentence_size;
    int64_t seen = 0;
    std::string line;
    while (r.next(&line)) {
        if (seen < k) {
            out->push_back(line);
        } else {
            const uint64_t j = sf_rng_below(&rng, (uint64_t)seen + 1);
            if (j < (uint64_t)k)
                (*out)[j].swap(line);
        }
        seen++;
    }
    if (r.failed())
        return read_failed(fn, r.failed());
    return seen == 0 ? no_sentences(fn, o) : SF_OK;
}

/* Without sampling the files are streamed; check first that there is a line. */
sf_status probe_inputs(const char *fn, const sf_spm_train_opts *o)
{
    LineReader r(o->inputs, o->n_inputs);
    std::string line;
    if (r.next(&line))
        return SF_OK;
    if (r.failed())
        return read_failed(fn, r.failed());
    return no_sentences(fn, o);
}

sf_status check_train_opts(const char *fn, const sf_spm_train_opts *o)
{
    if (!o)
        return sf_error(SF_ERR_INVALID_ARG, "%s: options are NULL", fn);
    if (!o->inputs || o->n_inputs < 1)
        return sf_error(SF_ERR_INVALID_ARG, "%s: no input files (n_inputs = %d); give at least one",
                        fn, o->n_inputs);
    for (int i = 0; i < o->n_inputs; i++)
        if (!o->inputs[i] || !*o->inputs[i])
            return sf_error(SF_ERR_INVALID_ARG, "%s: inputs[%d] is NULL or empty", fn, i);
    if (!o->model_prefix || !*o->model_prefix)
        return sf_error(SF_ERR_INVALID_ARG, "%s: model_prefix is NULL or empty", fn);
    const char *type = o->model_type ? o->model_type : "unigram";
    if (strcmp(type, "unigram") != 0 && strcmp(type, "bpe") != 0)
        return sf_error(SF_ERR_INVALID_ARG,
                        "%s: model_type '%s' is not supported; use unigram or bpe", fn, type);
    if (o->vocab_size < kMinVocab)
        return sf_error(SF_ERR_INVALID_ARG,
                        "%s: vocab_size %d is too small: need at least %d (<pad> <unk> <s> </s> "
                        "and one piece)",
                        fn, o->vocab_size, kMinVocab);
    if (!(o->character_coverage >= 0.98f && o->character_coverage <= 1.0f))
        return sf_error(SF_ERR_INVALID_ARG,
                        "%s: character_coverage %g is outside [0.98, 1] (SentencePiece's range; "
                        "1.0 for small alphabets, 0.9995 for CJK)",
                        fn, (double)o->character_coverage);
    if (o->num_threads < 1 || o->num_threads > 128)
        return sf_error(SF_ERR_INVALID_ARG, "%s: num_threads %d is outside [1, 128]", fn,
                        o->num_threads);
    if (o->input_sentence_size < 0)
        return sf_error(SF_ERR_INVALID_ARG,
                        "%s: input_sentence_size %lld is negative; use 0 for all lines", fn,
                        (long long)o->input_sentence_size);
    for (int i = 0; i < o->n_inputs; i++)
        SF_TRY(check_readable(fn, o->inputs[i], "training input"));
    return check_out_dir(fn, o->model_prefix);
}

std::unordered_map<std::string, std::string> train_args(const sf_spm_train_opts *o)
{
    char cov[32];
    snprintf(cov, sizeof cov, "%.9g", (double)o->character_coverage);
    return {
        {"model_prefix", o->model_prefix},
        {"model_type", o->model_type ? o->model_type : "unigram"},
        {"vocab_size", std::to_string(o->vocab_size)},
        {"character_coverage", cov},
        {"hard_vocab_limit", o->hard_vocab_limit ? "true" : "false"},
        {"num_threads", std::to_string(o->num_threads)},
        {"pad_id", "0"},
        {"unk_id", "1"},
        {"bos_id", "2"},
        {"eos_id", "3"},
        {"minloglevel", "2"}, /* errors only */
    };
}

/* What a training thread hands back (it must not throw, and sf_error's message is
 * per thread, so the caller turns this into a status). */
struct TrainResult {
    spm::util::Status st;
    sf_status thrown = SF_OK; /* SF_ERR_OOM or SF_ERR_TOKENIZER if Train threw */
    char what[512] = "";
};

void run_trainer(const std::unordered_map<std::string, std::string> *args, Feed *feed,
                 TrainResult *res) noexcept
{
    try {
        res->st = spm::SentencePieceTrainer::Train(*args, feed);
    } catch (const std::exception &e) {
        const bool oom = dynamic_cast<const std::bad_alloc *>(&e) != nullptr;
        res->thrown = oom ? SF_ERR_OOM : SF_ERR_TOKENIZER;
        snprintf(res->what, sizeof res->what, "%s", oom ? "out of memory" : e.what());
    } catch (...) {
        res->thrown = SF_ERR_TOKENIZER;
        snprintf(res->what, sizeof res->what, "unknown exception");
    }
}

sf_status train_checked(const char *fn, const sf_spm_train_opts *o)
{
    std::vector<std::string> sample;
    if (o->input_sentence_size > 0)
        SF_TRY(draw_sample(fn, o, &sample));
    else
        SF_TRY(probe_inputs(fn, o));
    const auto args = train_args(o);
    /* SentencePiece's generator is per thread and seeded once from this global:
     * a fresh thread makes every run start from the same seed. */
    const unsigned folded = (unsigned)(o->seed ^ (o->seed >> 32));
    spm::SetRandomGeneratorSeed(folded == UINT_MAX ? folded - 1 : folded); /* -1 is reserved */
    LineReader reader(o->inputs, o->n_inputs);
    Feed feed(o->input_sentence_size > 0 ? nullptr : &reader,
              o->input_sentence_size > 0 ? &sample : nullptr);
    TrainResult res;
    std::thread worker(run_trainer, &args, &feed, &res);
    worker.join();
    if (reader.failed())
        return read_failed(fn, reader.failed());
    if (res.thrown != SF_OK)
        return sf_error(res.thrown, "%s: SentencePiece threw while training %s.model: %s", fn,
                        o->model_prefix, res.what);
    return from_spm(res.st, fn,
                    std::string("training ") + o->model_prefix + ".model from '" + o->inputs[0] +
                        "'" + (o->n_inputs > 1 ? " and more" : ""));
}

/* seqfuse's models use 0 <pad>, 1 <unk>, 2 <s>, 3 </s>: refuse any other layout. */
sf_status check_special_ids(const char *fn, const spm::SentencePieceProcessor &p, const char *src)
{
    if (p.pad_id() == SF_PAD_ID && p.unk_id() == SF_UNK_ID && p.bos_id() == SF_BOS_ID &&
        p.eos_id() == SF_EOS_ID)
        return SF_OK;
    return sf_error(SF_ERR_TOKENIZER,
                    "%s: %s has special ids <pad>=%d <unk>=%d <s>=%d </s>=%d, expected 0 1 2 3; "
                    "retrain it with --pad_id=0 --unk_id=1 --bos_id=2 --eos_id=3",
                    fn, src, p.pad_id(), p.unk_id(), p.bos_id(), p.eos_id());
}

/* Loads through load(proc) -> util::Status; src names the source in messages. */
template <class L>
sf_status load_with(const char *fn, const char *src, sf_spm **out, L &&load)
{
    return guarded(fn, "loading a SentencePiece model", [&]() -> sf_status {
        std::unique_ptr<sf_spm> s(new sf_spm);
        const spm::util::Status st = load(s->proc);
        if (!st.ok())
            return sf_error(SF_ERR_TOKENIZER,
                            "%s: cannot load %s as a SentencePiece model (%s); give a .model "
                            "file written by sf_spm_train or spm_train",
                            fn, src, st.ToString().c_str());
        SF_TRY(check_special_ids(fn, s->proc, src));
        *out = s.release();
        return SF_OK;
    });
}

/* id must lie in [0, v); pos >= 0 is its place in the caller's array. */
sf_status check_id(const char *fn, int32_t id, int32_t v, int64_t pos)
{
    if (id >= 0 && id < v)
        return SF_OK;
    char where[48] = "";
    if (pos >= 0)
        snprintf(where, sizeof where, " (position %lld)", (long long)pos);
    return sf_error(SF_ERR_INVALID_ARG,
                    "%s: id %d%s is outside the vocabulary [0, %d); was it made with another "
                    "model?",
                    fn, id, where, v);
}

} // namespace

extern "C" {

void sf_spm_train_opts_default(sf_spm_train_opts *o)
{
    memset(o, 0, sizeof *o);
    o->vocab_size = 8000;
    o->model_type = "unigram";
    o->character_coverage = 1.0f;
    o->num_threads = 2;
    o->seed = 1;
}

sf_status sf_spm_train(const sf_spm_train_opts *o)
{
    const char *fn = __func__;
    return guarded(fn, "training", [&] {
        SF_TRY(check_train_opts(fn, o));
        return train_checked(fn, o);
    });
}

sf_status sf_spm_load_file(const char *path, sf_spm **out)
{
    if (!path || !out)
        return SF_FAIL(SF_ERR_INVALID_ARG, "path or out is NULL");
    *out = nullptr;
    SF_TRY(check_readable(__func__, path, "SentencePiece model"));
    char src[32 + PATH_MAX];
    snprintf(src, sizeof src, "'%s'", path);
    return load_with(__func__, src, out,
                     [&](spm::SentencePieceProcessor &p) { return p.Load(path); });
}

sf_status sf_spm_load_bytes(const void *data, size_t n, sf_spm **out)
{
    if (!data || !out || n == 0)
        return SF_FAIL(SF_ERR_INVALID_ARG, "data or out is NULL, or n is 0 (got n = %zu)", n);
    *out = nullptr;
    char src[64];
    snprintf(src, sizeof src, "%zu bytes of model data", n);
    return load_with(__func__, src, out, [&](spm::SentencePieceProcessor &p) {
        return p.LoadFromSerializedProto(std::string_view(static_cast<const char *>(data), n));
    });
}

sf_status sf_spm_serialize(const sf_spm *s, void **bytes, size_t *n)
{
    if (!s || !bytes || !n)
        return SF_FAIL(SF_ERR_INVALID_ARG, "s, bytes or n is NULL");
    *bytes = nullptr;
    *n = 0;
    const char *fn = __func__;
    return guarded(fn, "serializing the model", [&]() -> sf_status {
        const std::string b = s->proc.serialized_model_proto();
        char *p = nullptr;
        SF_TRY(copy_out(fn, b, &p));
        *bytes = p;
        *n = b.size();
        return SF_OK;
    });
}

void sf_spm_free(sf_spm *s) { delete s; }

int32_t sf_spm_vocab_size(const sf_spm *s)
{
    if (!s)
        return 0;
    try {
        return (int32_t)s->proc.GetPieceSize();
    } catch (...) {
        return 0;
    }
}

sf_status sf_spm_encode(const sf_spm *s, const char *text, size_t len, int32_t **ids, int64_t *n)
{
    if (!s || !ids || !n || (!text && len))
        return SF_FAIL(SF_ERR_INVALID_ARG, "s, ids or n is NULL, or text NULL with len %zu", len);
    *ids = nullptr;
    *n = 0;
    SF_TRY(check_utf8(__func__, text, len));
    const char *fn = __func__;
    return guarded(fn, "encoding", [&]() -> sf_status {
        std::vector<int> v;
        SF_TRY(from_spm(s->proc.Encode(std::string_view(text ? text : "", len), &v), fn,
                        "encoding"));
        /* at least one element so that success always hands back a pointer */
        int32_t *p = static_cast<int32_t *>(malloc((v.empty() ? 1 : v.size()) * sizeof *p));
        if (!p)
            return sf_error(SF_ERR_OOM, "%s: cannot allocate %zu ids", fn, v.size());
        for (size_t i = 0; i < v.size(); i++)
            p[i] = (int32_t)v[i];
        *ids = p;
        *n = (int64_t)v.size();
        return SF_OK;
    });
}

sf_status sf_spm_decode(const sf_spm *s, const int32_t *ids, int64_t n, char **text)
{
    if (!s || !text || n < 0 || (!ids && n))
        return SF_FAIL(SF_ERR_INVALID_ARG, "s or text is NULL, or ids is NULL / n = %lld < 0",
                       (long long)n);
    *text = nullptr;
    const int32_t v = sf_spm_vocab_size(s);
    for (int64_t i = 0; i < n; i++)
        SF_TRY(check_id(__func__, ids[i], v, i));
    const char *fn = __func__;
    return guarded(fn, "decoding", [&]() -> sf_status {
        const std::vector<int> v(ids, ids + n);
        std::string out;
        SF_TRY(from_spm(s->proc.Decode(v, &out), fn, "decoding"));
        return copy_out(fn, out, text);
    });
}

sf_status sf_spm_id_to_piece(const sf_spm *s, int32_t id, const char **piece)
{
    if (!s || !piece)
        return SF_FAIL(SF_ERR_INVALID_ARG, "s or piece is NULL");
    *piece = nullptr;
    SF_TRY(check_id(__func__, id, sf_spm_vocab_size(s), -1));
    return guarded(__func__, "looking up a piece", [&]() -> sf_status {
        *piece = s->proc.IdToPiece(id).c_str();
        return SF_OK;
    });
}

int32_t sf_spm_piece_to_id(const sf_spm *s, const char *piece)
{
    if (!s || !piece)
        return SF_UNK_ID;
    try {
        return (int32_t)s->proc.PieceToId(piece);
    } catch (...) {
        return SF_UNK_ID;
    }
}

sf_status sf_spm_encode_pieces(const sf_spm *s, const char *text, size_t len, char **pieces_joined)
{
    if (!s || !pieces_joined || (!text && len))
        return SF_FAIL(SF_ERR_INVALID_ARG, "s or pieces_joined is NULL, or text NULL with len %zu",
                       len);
    *pieces_joined = nullptr;
    SF_TRY(check_utf8(__func__, text, len));
    const char *fn = __func__;
    return guarded(fn, "encoding to pieces", [&]() -> sf_status {
        std::vector<std::string> pieces;
        SF_TRY(from_spm(s->proc.Encode(std::string_view(text ? text : "", len), &pieces), fn,
                        "encoding to pieces"));
        std::string joined;
        for (size_t i = 0; i < pieces.size(); i++) {
            if (pieces[i].find(' ') != std::string::npos)
                return sf_error(SF_ERR_TOKENIZER,
                                "%s: piece %zu ('%s') holds a space, so pieces cannot be joined "
                                "by spaces; use sf_spm_encode",
                                fn, i, pieces[i].c_str());
            if (i)
                joined += ' ';
            joined += pieces[i];
        }
        return copy_out(fn, joined, pieces_joined);
    });
}

sf_status sf_spm_decode_pieces(const sf_spm *s, const char *pieces_joined, char **text)
{
    if (!s || !pieces_joined || !text)
        return SF_FAIL(SF_ERR_INVALID_ARG, "s, pieces_joined or text is NULL");
    *text = nullptr;
    const size_t len = strlen(pieces_joined);
    SF_TRY(check_utf8(__func__, pieces_joined, len));
    const char *fn = __func__;
    return guarded(fn, "decoding pieces", [&]() -> sf_status {
        std::vector<std::string> pieces;
        for (size_t i = 0; i < len;) {
            const size_t end = std::string_view(pieces_joined, len).find(' ', i);
            const size_t stop = end == std::string_view::npos ? len : end;
            if (stop > i)
                pieces.emplace_back(pieces_joined + i, stop - i);
            i = stop + 1;
        }
        std::string out;
        SF_TRY(from_spm(s->proc.Decode(pieces, &out), fn, "decoding pieces"));
        return copy_out(fn, out, text);
    });
}

} /* extern "C" */

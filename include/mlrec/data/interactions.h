// A reader for the user's own interaction logs (data.format=interactions, issue 17): one CSV or
// TSV file with a header line, whose user, item, rating and (optional) timestamp columns are named
// in the configuration (data.interactions.*); other columns are ignored.
//
// Ids: a column whose every value is a canonical decimal int32 ("0", "17", "-3": no '+', no
// leading zeros, no spaces) keeps those integers as raw ids, so that ML-1M written in this format
// gives the same dense numbering, samples and results as its .dat reader. Any other column is text
// (e.g. "u_123", UUIDs): its raw ids are indices into RawRatings::user_names / movie_names, the
// column's distinct values sorted by byte order, so the numbering does not depend on file order.
//
// Ratings: any numeric scale, declared (rating_min, rating_max, rating_step) or inferred from the
// values (their min and max, and the largest step on whose grid they all lie; at most 1,000
// levels). Timestamps: integers (Unix seconds or any other unit) or ISO-8601 UTC dates and times
// ("2020-01-02", "2020-01-02T03:04:05", "2020-01-02 03:04:05.250Z", "...+02:00"), converted to
// Unix seconds; with no timestamp column, the row's index: file order is time order. A repeated
// (user, item) pair keeps its latest rating, as in load_movielens.
//
// Errors, as in the MovieLens readers: a bad line is one InputError "FILE:LINE: column 'NAME':
// reason" (non-numeric rating, off the declared scale, bad timestamp, empty id, malformed quote)
// or "FILE:LINE: expected N fields ..." (wrong field count); a file with no data lines is an
// InputError; a column the configuration names that the header lacks, or names twice, is a
// ConfigError naming the key. Accepted: RFC-4180 quoting ("a,b", doubled quotes), CRLF line ends,
// a missing final newline, a UTF-8 byte-order mark.
//
// Speed: the file is read whole and parsed in place (no per-field strings for integer ids; text
// ids interned through a hash table of views into the buffer), on up to hardware_concurrency
// threads over line ranges; the result does not depend on the number of threads.
#pragma once

#include <string>
#include <vector>

#include "mlrec/config/config.h"
#include "mlrec/data/movielens.h"

namespace mlrec::data {

/// Reads options.path (release kInteractions, dir = the path). threads: 0 = one per core (up to 8,
/// and one for small files); any other count is used as given (tests compare counts).
RawRatings load_interactions(const config::Config::Data::Interactions& options, int threads = 0);

/// The scale of a set of rating values: their min and max, and the largest step (snapped to at
/// most 6 decimals) on whose grid they all lie; {v, v, 1} for a single value. False when no grid
/// of at most max_levels levels holds them all (e.g. continuous values).
bool infer_rating_scale(std::vector<float> values, RatingScale& scale, int max_levels = 1000);

}  // namespace mlrec::data

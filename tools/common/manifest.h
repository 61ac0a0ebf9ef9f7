/* Evaluation-set manifests for ds2-bench. Not part of libds2: inference needs none. */
#ifndef DS2_TOOLS_MANIFEST_H
#define DS2_TOOLS_MANIFEST_H

#include "ds2.h"

/* An evaluation set: audio file paths (resolved, usable as given) and reference transcripts. */
typedef struct ds2_manifest_entry {
    char *audio_path;
    char *transcript;
} ds2_manifest_entry;

typedef struct ds2_manifest {
    ds2_manifest_entry *entries;
    int count;
} ds2_manifest;

/* Reads a manifest, format detected by content:
 *   JSON (deepspeech.pytorch V3): {"root_path": DIR, "samples": [{"wav_path": P,
 *        "transcript_path": P}, ...]}; P relative to root_path, root_path relative to the
 *        manifest's directory (default: that directory), or to the current directory as
 *        deepspeech.pytorch does when only that reading names a directory;
 *   CSV:  "wav_path,txt_path" per line;  TSV: "audio_path<TAB>transcript text" per line;
 *        relative paths are relative to the manifest's directory.
 * Transcript files (at most 1 MiB; the manifest at most 64 MiB) are read with trailing newlines
 * stripped. Every audio file must exist. Only regular files are opened (a FIFO, device or
 * directory is refused without blocking).
 * On failure the manifest is empty and error names the file and line or sample index. */
ds2_status ds2_manifest_load(const char *path, ds2_manifest *manifest, char *error,
                             size_t error_size);
void ds2_manifest_free(ds2_manifest *manifest);

#endif

/* Machine description from /proc and sysconf; the GPU name from the NVIDIA driver's /proc
 * entry, since the public API does not expose device names. */
#include "sysinfo.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    size_t k = strspn(s, " \t");
    memmove(s, s + k, strlen(s + k) + 1);
}

/* Value after "key<spaces>:" on a "key : value" line, or NULL. */
static const char *field(const char *line, const char *key)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0)
        return NULL;
    const char *p = line + n;
    while (*p == ' ' || *p == '\t')
        p++;
    return *p == ':' ? p + 1 : NULL;
}

/* 1 if the space-separated flags list holds flag exactly. */
static int has_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += n) {
        int starts = p == flags || p[-1] == ' ' || p[-1] == '\t';
        int ends = p[n] == '\0' || p[n] == ' ' || p[n] == '\n';
        if (starts && ends)
            return 1;
    }
    return 0;
}

static void read_cpu(bench_sysinfo *info)
{
    static const char *const isa_flags[] = {"avx2",        "fma",      "f16c",
                                            "avx512f",     "avx512bw", "avx512vl",
                                            "avx512_vnni", "avx_vnni", "amx_int8"};
    snprintf(info->cpu_model, sizeof info->cpu_model, "unknown CPU");
    snprintf(info->isa, sizeof info->isa, "none");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[8192];
    int have_model = 0, have_flags = 0;
    while (fgets(line, sizeof line, f) && !(have_model && have_flags)) {
        const char *v;
        if (!have_model && (v = field(line, "model name")) != NULL) {
            snprintf(info->cpu_model, sizeof info->cpu_model, "%s", v);
            trim(info->cpu_model);
            have_model = 1;
        } else if (!have_flags && (v = field(line, "flags")) != NULL) {
            size_t len = 0;
            info->isa[0] = '\0';
            for (size_t i = 0; i < sizeof isa_flags / sizeof isa_flags[0]; i++)
                if (has_flag(v, isa_flags[i]))
                    len += (size_t)snprintf(info->isa + len, sizeof info->isa - len, "%s%s",
                                            len ? " " : "", isa_flags[i]);
            if (len == 0)
                snprintf(info->isa, sizeof info->isa, "none");
            have_flags = 1;
        }
    }
    fclose(f);
}

static void read_gpu(bench_sysinfo *info)
{
    info->gpu_name[0] = '\0';
    const char *base = "/proc/driver/nvidia/gpus";
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL && info->gpu_name[0] == '\0') {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s/information", base, e->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        char line[512];
        while (fgets(line, sizeof line, f)) {
            const char *v = field(line, "Model");
            if (v) {
                snprintf(info->gpu_name, sizeof info->gpu_name, "%s", v);
                trim(info->gpu_name);
                break;
            }
        }
        fclose(f);
    }
    closedir(d);
}

void sysinfo_collect(bench_sysinfo *info)
{
    memset(info, 0, sizeof *info);
    read_cpu(info);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    info->cores = n > 0 ? (int)n : 0;
    read_gpu(info);
    if (gethostname(info->hostname, sizeof info->hostname - 1) != 0)
        snprintf(info->hostname, sizeof info->hostname, "unknown");
}

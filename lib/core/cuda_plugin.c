/*
 * ds2_backend_cuda as seen by lib/: a thin forwarder to the CUDA backend, which lives in its
 * own shared object (libds2_cuda.so) and is dlopen'ed the first time a GPU is asked for. A CPU
 * deployment therefore never maps the CUDA runtime and cuBLAS (they add ~150 MB of resident
 * memory at start-up), and a library built without CUDA simply finds no plugin.
 *
 * The plugin is looked for next to the module holding this code (the executable, or libds2.so),
 * then in ../ and ../lib/ from there, then on the loader's search path. The result of that
 * one-time search is the library's only global besides the CPU-feature dispatch tables.
 *
 * The plugin exports its DS2_BACKEND_INTERFACE_VERSION next to its vtable; a plugin from another
 * build (other vtable or batch layout) is refused with both versions named, never called.
 */
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/backend.h"
#include "format/net.h"

#define PLUGIN "libds2_cuda.so"
#define PLUGIN_SYMBOL "ds2_cuda_plugin_backend"
#define PLUGIN_VERSION_SYMBOL "ds2_cuda_plugin_interface_version"

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static const ds2_backend_i *plugin;
static char load_error[512];

static void *try_open(const char *dir, const char *rel)
{
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s%s" PLUGIN, dir, rel) >= (int)sizeof path)
        return NULL;
    return dlopen(path, RTLD_NOW | RTLD_LOCAL);
}

static void load_plugin(void)
{
    void *handle = NULL;
    Dl_info info;
    char dir[PATH_MAX] = "";
    if (dladdr((void *)&load_plugin, &info) && info.dli_fname) {
        snprintf(dir, sizeof dir, "%s", info.dli_fname);
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[1] = '\0';
        else
            dir[0] = '\0';
    }
    if (dir[0]) {
        const char *rel[] = {"", "../", "../lib/"};
        for (size_t i = 0; !handle && i < sizeof rel / sizeof *rel; i++)
            handle = try_open(dir, rel[i]);
    }
    if (!handle)
        handle = dlopen(PLUGIN, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        snprintf(load_error, sizeof load_error, "built without CUDA (%s not loadable: %s)", PLUGIN,
                 why ? why : "not found");
        return;
    }
    const int *version = (const int *)dlsym(handle, PLUGIN_VERSION_SYMBOL);
    if (!version) {
        snprintf(load_error, sizeof load_error,
                 "%s has no symbol %s (a plugin older than this libds2; rebuild both from one "
                 "tree)",
                 PLUGIN, PLUGIN_VERSION_SYMBOL);
        dlclose(handle);
        return;
    }
    if (*version != DS2_BACKEND_INTERFACE_VERSION) {
        snprintf(load_error, sizeof load_error,
                 "%s implements backend interface version %d, this libds2 needs version %d "
                 "(rebuild both from one tree)",
                 PLUGIN, *version, DS2_BACKEND_INTERFACE_VERSION);
        dlclose(handle);
        return;
    }
    plugin = (const ds2_backend_i *)dlsym(handle, PLUGIN_SYMBOL);
    if (!plugin)
        snprintf(load_error, sizeof load_error, "%s has no symbol %s", PLUGIN, PLUGIN_SYMBOL);
}

static ds2_status prepare(const ds2_net *net, ds2_precision precision, int device_index,
                          void **model_data, ds2_err *err)
{
    if (model_data)
        *model_data = NULL;
    pthread_once(&load_once, load_plugin);
    if (!plugin)
        return ds2_fail(err, DS2_ERR_NOT_BUILT, "%s", load_error);
    return plugin->prepare(net, precision, device_index, model_data, err);
}

/* The remaining entry points are only reached with data that prepare() made, so the plugin is
 * loaded by then. */
static void release(void *model_data)
{
    if (plugin)
        plugin->release(model_data);
}

static ds2_status session_create(const ds2_net *net, const void *model_data, int n_threads,
                                 int device_index, void **session_data, ds2_err *err)
{
    if (session_data)
        *session_data = NULL;
    pthread_once(&load_once, load_plugin);
    if (!plugin)
        return ds2_fail(err, DS2_ERR_NOT_BUILT, "%s", load_error);
    return plugin->session_create(net, model_data, n_threads, device_index, session_data, err);
}

static void session_free(void *session_data)
{
    if (plugin)
        plugin->session_free(session_data);
}

static ds2_status forward(void *session_data, ds2_forward_batch *batch, ds2_err *err)
{
    if (!plugin)
        return ds2_fail(err, DS2_ERR_NOT_BUILT, "%s", load_error);
    return plugin->forward(session_data, batch, err);
}

const ds2_backend_i ds2_backend_cuda = {prepare, release, session_create, session_free, forward};

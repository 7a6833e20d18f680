/* SPDX-License-Identifier: Apache-2.0 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "paths.h"
#include "shared/macro.h"

static bool key_char(char c)
{
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
               c == '_' || c == '.';
}

const char *profile_file_name_invalid(const char *name)
{
        size_t n = strlen(name);
        if (n == 0)
                return "the name is empty";
        if (n > 253)
                return "the name is longer than 253 characters (a ConfigMap key's limit)";
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
                return "\".\" and \"..\" are not file names";
        if (strncmp(name, "..", 2) == 0)
                return "names starting with \"..\" are reserved (ConfigMap keys cannot start with it)";
        for (const char *c = name; *c; c++)
                if (!key_char(*c))
                        return "a name may contain only letters, digits, '-', '_' and '.'";
        if (n < 6 || strcmp(name + n - 5, ".json") != 0)
                return "a profile's name must end in \".json\"";
        return NULL;
}

/* dir[0..len) as a directory; the length lets a target path's directory part be checked in place. */
static const char *directory_invalid(const char *dir, size_t len, size_t max)
{
        const char *end = dir + len;

        if (dir[0] == '/')
                return "the directory must be relative (no leading '/')";
        if (len > max)
                return max == 1024 ? "the directory is longer than 1024 characters"
                                   : "the directory is longer than PATH_MAX";
        for (const char *c = dir; c < end;) {
                size_t n = 0;
                while (c + n < end && c[n] != '/')
                        n++;
                if (n == 0)
                        return "the directory has an empty component (\"//\" or a trailing '/')";
                /* No file system takes a longer name (NAME_MAX): refused here, with the object, rather
                 * than failing every sync at mkdir with ENAMETOOLONG. */
                if (n > NAME_MAX)
                        return "a directory component is longer than 255 characters (NAME_MAX)";
                if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
                        return "\".\" and \"..\" are not allowed in the directory";
                if (n >= 2 && c[0] == '.' && c[1] == '.')
                        return "directory components starting with \"..\" are reserved";
                for (size_t i = 0; i < n; i++)
                        if (!key_char(c[i]))
                                return "directory components may contain only letters, digits, '-', '_' and "
                                       "'.'";
                c += n;
                if (c < end) {
                        c++;
                        if (c == end)
                                return "the directory has an empty component (\"//\" or a trailing '/')";
                }
        }
        return NULL;
}

const char *profile_directory_invalid(const char *dir)
{
        if (!dir || !*dir)
                return NULL;
        return directory_invalid(dir, strlen(dir), 1024);
}

/* A target's directory may be longer than an annotation's 1024: a tenant's is "<namespace>/<dir>". */
const char *profile_target_directory_invalid(const char *dir)
{
        if (!*dir)
                return "the directory is empty";
        return directory_invalid(dir, strlen(dir), PATH_MAX);
}

const char *profile_target_path_invalid(const char *path)
{
        const char *slash = strrchr(path, '/');

        if (!slash)
                return profile_file_name_invalid(path);
        if (slash == path)
                return "the path must be relative (no leading '/')";
        return directory_invalid(path, (size_t) (slash - path), PATH_MAX)
                       ?: profile_file_name_invalid(slash + 1);
}

int profile_target_path(const char *dir, const char *name, char **ret)
{
        char *p = NULL;
        if (asprintf(&p, "%s%s%s", dir && *dir ? dir : "", dir && *dir ? "/" : "", name) < 0)
                return -ENOMEM;
        *ret = p;
        return 0;
}

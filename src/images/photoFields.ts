/**
 * What a photo's first bytes tell: its stored size (CoralNet reads the pixel grid as stored, EXIF
 * orientation not applied), its orientation tag, EXIF DateTimeOriginal and GPS position.
 */
import exifr from 'exifr';

/** Enough of a JPEG to hold its EXIF block and frame header in practice. */
export const HEAD_BYTES = 64 * 1024;

/** Width and height as stored, before EXIF orientation. */
export interface StoredSize {
  width: number;
  height: number;
  hasExif: boolean;
  /** When the decoder already knows it (sharp); otherwise EXIF says. */
  orientation?: number;
}

/** The size and metadata a probe adds to an image. */
export interface PhotoFields {
  /** Width and height as stored: the grid CoralNet checks rows and columns against. */
  width: number;
  height: number;
  /** The EXIF orientation tag (2–8) of a photo shown turned or mirrored; absent for 1. */
  orientation?: number;
  dateTimeOriginal?: string;
  latitude?: number;
  longitude?: number;
}

/** The stored size, with the EXIF tags of `head` when it has them. */
export async function photoFields(size: StoredSize, head: Buffer): Promise<PhotoFields> {
  const tags = size.hasExif ? await exifTags(head) : undefined;
  const orientation = tags?.Orientation ?? size.orientation ?? 1;
  const fields: PhotoFields = { width: size.width, height: size.height };
  if (Number.isInteger(orientation) && orientation >= 2 && orientation <= 8) fields.orientation = orientation;
  if (typeof tags?.DateTimeOriginal === 'string') fields.dateTimeOriginal = tags.DateTimeOriginal;
  if (Number.isFinite(tags?.latitude) && Number.isFinite(tags?.longitude)) {
    fields.latitude = tags!.latitude;
    fields.longitude = tags!.longitude;
  }
  return fields;
}

/**
 * One options object for every call: exifr prepares its tag filters once per options object, and
 * that preparation costs ten times the reading. Values stay raw (Orientation a number, the date as written).
 */
const EXIF_OPTIONS = {
  pick: ['Orientation', 'DateTimeOriginal', 'GPSLatitude', 'GPSLongitude', 'GPSLatitudeRef', 'GPSLongitudeRef'],
  reviveValues: false,
  translateValues: false,
};

interface ExifTags {
  Orientation?: number;
  DateTimeOriginal?: string;
  latitude?: number;
  longitude?: number;
}

/** EXIF that cannot be read leaves the metadata columns empty; the image is still usable. */
async function exifTags(head: Buffer): Promise<ExifTags | undefined> {
  try {
    const tags = (await exifr.parse(head, EXIF_OPTIONS)) as ExifTags | undefined;
    if (tags !== undefined && typeof tags.Orientation !== 'number') delete tags.Orientation;
    return tags;
  } catch {
    return undefined;
  }
}

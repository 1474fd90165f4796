//! The printed laudo (§10, §14): A4, fonts embedded, photos embedded as their original JPEG
//! at ≥ 600 dpi effective resolution, vector tarja, checklist, signature block and a vector
//! QR code pointing at the central's check page.

use chrono::{DateTime, Utc};
use printpdf::path::PaintMode;
use printpdf::{
    Color, ColorBits, ColorSpace, Image, ImageFilter, ImageTransform, ImageXObject,
    IndirectFontRef, Mm, PdfDocument, PdfDocumentReference, PdfLayerReference, Px, Rect, Rgb,
};

use super::document::{Laudo, LaudoError, LaudoResult};

const FONT_REGULAR: &[u8] = include_bytes!("../../../assets/fonts/NotoSans-Regular.ttf");
const FONT_BOLD: &[u8] = include_bytes!("../../../assets/fonts/NotoSans-Bold.ttf");

/// A4 in millimetres.
pub const PAGE_W: f32 = 210.0;
/// A4 in millimetres.
pub const PAGE_H: f32 = 297.0;
const MARGIN: f32 = 14.0;
/// The lowest effective resolution a photo is printed at.
pub const MIN_PHOTO_DPI: f32 = 600.0;

/// A photo to print: its JPEG as stored and what its tarja says.
#[derive(Debug, Clone)]
pub struct PdfPhoto {
    /// Kind label ("Traseira com placa").
    pub label: String,
    /// Central time of capture.
    pub captured_at: DateTime<Utc>,
    /// The JPEG bytes, embedded unchanged.
    pub jpeg: Vec<u8>,
}

/// The signature block's content (from the `.p7s`).
#[derive(Debug, Clone)]
pub struct SignatureBlock {
    /// Certificate holder.
    pub signer_name: String,
    /// Masked CPF.
    pub masked_cpf: String,
    /// Certificate serial, hex.
    pub certificate_serial: String,
    /// Signing time (central).
    pub signed_at: DateTime<Utc>,
    /// SHA-256 of the `.p7s`, hex.
    pub p7s_sha256: String,
}

/// Width, height and colour components of a baseline or progressive JPEG, from its SOF.
pub fn jpeg_info(jpeg: &[u8]) -> Option<(u32, u32, u8)> {
    if jpeg.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        if jpeg[i] != 0xFF {
            return None;
        }
        let marker = jpeg[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        let is_sof = matches!(marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
        if is_sof {
            let h = u16::from_be_bytes([*jpeg.get(i + 5)?, *jpeg.get(i + 6)?]);
            let w = u16::from_be_bytes([*jpeg.get(i + 7)?, *jpeg.get(i + 8)?]);
            return Some((w as u32, h as u32, *jpeg.get(i + 9)?));
        }
        i += 2 + len;
    }
    None
}

fn rgb(r: u8, g: u8, b: u8) -> Color {
    Color::Rgb(Rgb::new(
        r as f32 / 255.0,
        g as f32 / 255.0,
        b as f32 / 255.0,
        None,
    ))
}

struct Writer {
    doc: PdfDocumentReference,
    layer: PdfLayerReference,
    regular: IndirectFontRef,
    bold: IndirectFontRef,
    y: f32,
    page: u32,
    footer: String,
}

impl Writer {
    fn text(&self, text: &str, size: f32, x: f32, y: f32, bold: bool) {
        let font = if bold { &self.bold } else { &self.regular };
        self.layer.use_text(text, size, Mm(x), Mm(y), font);
    }

    fn fill(&self, x: f32, y: f32, w: f32, h: f32, color: Color) {
        self.layer.set_fill_color(color);
        self.layer
            .add_rect(Rect::new(Mm(x), Mm(y), Mm(x + w), Mm(y + h)).with_mode(PaintMode::Fill));
        self.layer.set_fill_color(rgb(0, 0, 0));
    }

    fn new_page(&mut self) {
        let (page, layer) = self.doc.add_page(Mm(PAGE_W), Mm(PAGE_H), "laudo");
        self.layer = self.doc.get_page(page).get_layer(layer);
        self.page += 1;
        self.y = PAGE_H - MARGIN;
        self.draw_footer();
    }

    fn draw_footer(&self) {
        self.text(
            &format!("{} — página {}", self.footer, self.page),
            7.0,
            MARGIN,
            7.0,
            false,
        );
    }

    /// Makes room for `h` mm, starting a new page when needed.
    fn need(&mut self, h: f32) {
        if self.y - h < MARGIN {
            self.new_page();
        }
    }

    fn section(&mut self, title: &str) {
        self.need(12.0);
        self.y -= 7.0;
        self.fill(
            MARGIN,
            self.y - 1.5,
            PAGE_W - 2.0 * MARGIN,
            6.0,
            rgb(225, 230, 238),
        );
        self.text(title, 10.0, MARGIN + 2.0, self.y, true);
        self.y -= 6.0;
    }
}

fn fmt_time(t: DateTime<Utc>) -> String {
    format!("{} (MT)", crate::clock::station_time(t))
}

/// Renders the laudo. `signature` is `None` for a draft (the block then says so).
pub fn render(
    laudo: &Laudo,
    photos: &[PdfPhoto],
    signature: Option<&SignatureBlock>,
) -> Result<Vec<u8>, LaudoError> {
    let pdf_err = |e: printpdf::Error| LaudoError::Pdf(e.to_string());
    let title = format!("Laudo de vistoria {}", laudo.number);
    let (doc, page, layer) = PdfDocument::new(&title, Mm(PAGE_W), Mm(PAGE_H), "laudo");
    let regular = doc.add_external_font(FONT_REGULAR).map_err(pdf_err)?;
    let bold = doc.add_external_font(FONT_BOLD).map_err(pdf_err)?;
    let layer = doc.get_page(page).get_layer(layer);
    let mut w = Writer {
        doc,
        layer,
        regular,
        bold,
        y: PAGE_H - MARGIN,
        page: 1,
        footer: format!(
            "Laudo {} · {} · {}",
            laudo.number, laudo.vehicle.plate, laudo.station.name
        ),
    };
    w.draw_footer();

    header(&mut w, laudo);
    vehicle(&mut w, laudo);
    result(&mut w, laudo);
    checklist(&mut w, laudo);
    photo_grid(&mut w, laudo, photos)?;
    plate_and_film(&mut w, laudo);
    signature_block(&mut w, laudo, signature)?;

    w.doc.save_to_bytes().map_err(pdf_err)
}

fn header(w: &mut Writer, laudo: &Laudo) {
    w.fill(0.0, PAGE_H - 30.0, PAGE_W, 30.0, rgb(18, 52, 96));
    w.layer.set_fill_color(rgb(255, 255, 255));
    w.text(
        "LAUDO DE VISTORIA VEICULAR",
        16.0,
        MARGIN,
        PAGE_H - 13.0,
        true,
    );
    w.text(
        &format!(
            "{} — ECV {} — {}",
            laudo.station.name, laudo.station.code, laudo.station.city
        ),
        9.0,
        MARGIN,
        PAGE_H - 19.5,
        false,
    );
    w.text(
        "Portaria Detran-MT 741/2019, Anexo II — vistoria em ECV fixa",
        7.5,
        MARGIN,
        PAGE_H - 25.0,
        false,
    );
    w.text(
        &format!("Laudo nº {}", laudo.number),
        12.0,
        132.0,
        PAGE_H - 13.0,
        true,
    );
    w.text(
        &format!("Emitido em {}", fmt_time(laudo.times.issued_at)),
        7.5,
        132.0,
        PAGE_H - 19.5,
        false,
    );
    w.layer.set_fill_color(rgb(0, 0, 0));
    w.y = PAGE_H - 34.0;
}

fn vehicle(w: &mut Writer, laudo: &Laudo) {
    w.section("Veículo");
    let v = &laudo.vehicle;
    let rows = [
        (
            "Placa",
            v.plate.clone(),
            "Marca/modelo",
            v.make_model.clone(),
        ),
        (
            "RENAVAM",
            v.renavam.clone().unwrap_or_else(|| "—".into()),
            "Ano / cor",
            format!("{} / {}", v.year, v.colour),
        ),
        (
            "Chassi",
            v.chassis.clone().unwrap_or_else(|| "—".into()),
            "Espécie",
            v.class_label.clone(),
        ),
        (
            "Município",
            v.city.clone(),
            "Consulta (hora central)",
            fmt_time(laudo.times.queried_at),
        ),
        (
            "Vistoriador",
            laudo.inspector.name.clone(),
            "Encerramento",
            fmt_time(laudo.times.ended_at),
        ),
    ];
    for (k1, v1, k2, v2) in rows {
        w.need(6.0);
        w.text(k1, 7.0, MARGIN + 2.0, w.y, false);
        w.text(&v1, 10.0, MARGIN + 26.0, w.y, true);
        w.text(k2, 7.0, 106.0, w.y, false);
        w.text(&v2, 9.0, 138.0, w.y, false);
        w.y -= 5.6;
    }
}

fn result(w: &mut Writer, laudo: &Laudo) {
    w.need(30.0);
    w.y -= 4.0;
    let (fill, ink) = match &laudo.result {
        LaudoResult::Concluded { non_conforming, .. } if non_conforming.is_empty() => {
            (rgb(222, 244, 226), rgb(16, 110, 40))
        }
        LaudoResult::Concluded { .. } => (rgb(252, 226, 226), rgb(170, 20, 20)),
        LaudoResult::Interrupted { .. } => (rgb(255, 240, 210), rgb(150, 90, 0)),
    };
    let h = 22.0;
    w.fill(MARGIN, w.y - h, PAGE_W - 2.0 * MARGIN, h, fill);
    w.text("RESULTADO", 8.0, MARGIN + 4.0, w.y - 6.0, true);
    let headline = laudo.result.headline_pt().to_uppercase();
    w.layer.set_fill_color(ink);
    w.text(&headline, 30.0, MARGIN + 4.0, w.y - 17.5, true);
    w.layer.set_fill_color(rgb(0, 0, 0));
    if let LaudoResult::Interrupted { label, note, .. } = &laudo.result {
        w.text(&format!("Causa: {label}"), 9.0, 110.0, w.y - 10.0, true);
        w.text(&truncate(note, 50), 8.0, 110.0, w.y - 15.0, false);
    } else if let LaudoResult::Concluded { non_conforming, .. } = &laudo.result
        && !non_conforming.is_empty()
    {
        w.text(
            &format!("{} item(ns) não conforme(s)", non_conforming.len()),
            9.0,
            120.0,
            w.y - 12.0,
            true,
        );
    }
    w.y -= h + 2.0;
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

fn checklist(w: &mut Writer, laudo: &Laudo) {
    w.section("Itens verificados (§13)");
    let mut group = "";
    for line in &laudo.checklist {
        let row_h = if line.note.is_some() && !line.conforming {
            8.6
        } else {
            4.6
        };
        w.need(row_h + if line.group != group { 5.0 } else { 0.0 });
        if line.group != group {
            group = &line.group;
            w.y -= 1.0;
            w.text(group, 8.0, MARGIN + 1.0, w.y, true);
            w.y -= 4.4;
        }
        if !line.conforming {
            w.fill(
                MARGIN,
                w.y - row_h + 3.4,
                PAGE_W - 2.0 * MARGIN,
                row_h,
                rgb(252, 220, 220),
            );
            w.layer.set_fill_color(rgb(170, 20, 20));
        }
        w.text(
            &truncate(&line.label, 80),
            8.0,
            MARGIN + 4.0,
            w.y,
            !line.conforming,
        );
        w.text(&line.condition, 8.0, 160.0, w.y, !line.conforming);
        if let (Some(note), false) = (&line.note, line.conforming) {
            w.text(
                &format!("Obs.: {}", truncate(note, 100)),
                7.0,
                MARGIN + 8.0,
                w.y - 4.0,
                false,
            );
        }
        w.layer.set_fill_color(rgb(0, 0, 0));
        w.y -= row_h;
    }
}

fn photo_grid(w: &mut Writer, laudo: &Laudo, photos: &[PdfPhoto]) -> Result<(), LaudoError> {
    if photos.is_empty() {
        return Ok(());
    }
    w.section(&format!("Fotografias ({})", photos.len()));
    let gap = 6.0;
    let cell_w = (PAGE_W - 2.0 * MARGIN - gap) / 2.0;
    let mut column = 0;
    let mut row_h = 0.0f32;
    for photo in photos {
        let (px_w, px_h, components) = jpeg_info(&photo.jpeg)
            .ok_or_else(|| LaudoError::Pdf(format!("foto {} não é um JPEG", photo.label)))?;
        // Never below 600 dpi: a small photo prints smaller rather than blurred.
        let dpi = MIN_PHOTO_DPI.max(px_w as f32 / (cell_w / 25.4));
        let img_w = px_w as f32 / dpi * 25.4;
        let img_h = px_h as f32 / dpi * 25.4;
        let tarja_h = 7.0;
        let block_h = img_h + tarja_h + 4.0;
        if column == 0 {
            w.need(block_h);
        }
        let x = MARGIN + column as f32 * (cell_w + gap) + (cell_w - img_w) / 2.0;
        let top = w.y;
        let bottom = top - img_h;
        let xobject = ImageXObject {
            width: Px(px_w as usize),
            height: Px(px_h as usize),
            color_space: if components == 1 {
                ColorSpace::Greyscale
            } else {
                ColorSpace::Rgb
            },
            bits_per_component: ColorBits::Bit8,
            interpolate: false,
            image_data: photo.jpeg.clone(),
            image_filter: Some(ImageFilter::DCT),
            smask: None,
            clipping_bbox: None,
        };
        Image::from(xobject).add_to_layer(
            w.layer.clone(),
            ImageTransform {
                translate_x: Some(Mm(x)),
                translate_y: Some(Mm(bottom)),
                dpi: Some(dpi),
                ..Default::default()
            },
        );
        // The tarja (§7): plate, what the photo shows and the central time, under the photo.
        w.fill(x, bottom - tarja_h, img_w, tarja_h, rgb(20, 20, 20));
        w.layer.set_fill_color(rgb(255, 214, 0));
        w.text(&laudo.vehicle.plate, 8.0, x + 1.5, bottom - 3.0, true);
        w.layer.set_fill_color(rgb(255, 255, 255));
        w.text(
            &truncate(&photo.label, 34),
            6.5,
            x + 20.0,
            bottom - 3.0,
            false,
        );
        w.text(
            &format!("{} · laudo {}", fmt_time(photo.captured_at), laudo.number),
            5.5,
            x + 1.5,
            bottom - 6.0,
            false,
        );
        w.layer.set_fill_color(rgb(0, 0, 0));
        row_h = row_h.max(block_h);
        column += 1;
        if column == 2 {
            column = 0;
            w.y -= row_h;
            row_h = 0.0;
        }
    }
    if column != 0 {
        w.y -= row_h;
    }
    Ok(())
}

/// Three decimals with a comma, as a Brazilian reader writes them.
fn decimal(x: f32) -> String {
    format!("{x:.3}").replace('.', ",")
}

/// The §6 reading and its correction, and every gap of the film (§4).
fn plate_and_film(w: &mut Writer, laudo: &Laudo) {
    w.section("Leitura da placa (§6) e filmagem panorâmica (§4)");
    let mut lines: Vec<String> = Vec::new();
    match &laudo.plate_reading {
        None => lines.push("Placa: sem foto traseira lida".into()),
        Some(p) => {
            let read = p.read.as_deref().unwrap_or("nada lido");
            let verdict = match p.result.as_str() {
                "match" => "confere com a placa digitada",
                "mismatch" => "NÃO confere com a placa digitada",
                "doubtful" => "confere, mas com pouca confiança (conferida pelo operador)",
                _ => "ilegível",
            };
            lines.push(format!(
                "Placa lida na foto traseira: {read} (confiança {}) — {verdict}",
                decimal(p.confidence_ppm as f32 / 1e6)
            ));
            if let Some(c) = &p.correction {
                lines.push(format!(
                    "Correção por {} em {}: placa {}, RENAVAM {} — motivo: {}",
                    c.user,
                    fmt_time(c.at),
                    c.typed_plate,
                    c.typed_renavam,
                    c.reason
                ));
            }
        }
    }
    if laudo.film_gaps.is_empty() {
        lines.push("Filmagem: sem interrupções registradas".into());
    }
    for gap in &laudo.film_gaps {
        let secs = |ms: u64| format!("{},{:03} s", ms / 1000, ms % 1000);
        lines.push(format!(
            "Filmagem interrompida de {} a {} ({}){}",
            secs(gap.start_ms),
            secs(gap.end_ms),
            gap.cause.replace('_', " "),
            if gap.open_at_stop {
                ", sem retorno até o fim"
            } else {
                ""
            }
        ));
    }
    for line in lines {
        w.need(5.0);
        w.text(&line, 7.5, MARGIN + 2.0, w.y, false);
        w.y -= 4.8;
    }
}

fn signature_block(
    w: &mut Writer,
    laudo: &Laudo,
    signature: Option<&SignatureBlock>,
) -> Result<(), LaudoError> {
    let qr_size = 34.0;
    w.section("Assinatura digital (ICP-Brasil, e-CPF A3) e verificação");
    w.need(qr_size + 4.0);
    let top = w.y;
    let lines: Vec<(String, String)> = match signature {
        Some(s) => vec![
            ("Assinado por".into(), s.signer_name.clone()),
            ("CPF".into(), s.masked_cpf.clone()),
            ("Série do certificado".into(), s.certificate_serial.clone()),
            ("Assinado em".into(), fmt_time(s.signed_at)),
            (
                "SHA-256 da assinatura (.p7s)".into(),
                s.p7s_sha256[..32].to_owned(),
            ),
            (String::new(), s.p7s_sha256[32..].to_owned()),
        ],
        None => vec![(
            "Situação".into(),
            "RASCUNHO — laudo ainda não assinado".into(),
        )],
    };
    let mut y = top;
    for (k, v) in &lines {
        w.text(k, 7.0, MARGIN + 2.0, y, false);
        w.text(v, 8.5, MARGIN + 42.0, y, true);
        y -= 4.8;
    }
    let bio = &laudo.biometric_check;
    w.text(
        &format!(
            "Conferência biométrica na estação: escore {} (mínimo {}), impressão cadastrada {}, em {}",
            decimal(bio.score()),
            decimal(bio.threshold()),
            bio.finger(),
            fmt_time(bio.at())
        ),
        7.5,
        MARGIN + 2.0,
        y - 1.0,
        false,
    );
    w.text(
        "Confira este laudo na central:",
        7.0,
        MARGIN + 2.0,
        y - 6.0,
        false,
    );
    w.text(&laudo.verify_url, 7.0, MARGIN + 2.0, y - 10.0, true);

    let code = qrcode::QrCode::with_error_correction_level(
        laudo.verify_url.as_bytes(),
        qrcode::EcLevel::M,
    )
    .map_err(|e| LaudoError::Pdf(format!("QR: {e}")))?;
    let modules = code.width();
    let quiet = 2.0;
    let module = qr_size / (modules as f32 + 2.0 * quiet);
    let x0 = PAGE_W - MARGIN - qr_size;
    let y0 = top + 3.0 - qr_size;
    let colors = code.to_colors();
    for row in 0..modules {
        // One rectangle per horizontal run of dark modules keeps the PDF small.
        let mut col = 0;
        while col < modules {
            if colors[row * modules + col] == qrcode::Color::Dark {
                let start = col;
                while col < modules && colors[row * modules + col] == qrcode::Color::Dark {
                    col += 1;
                }
                let x = x0 + (quiet + start as f32) * module;
                let y = y0 + qr_size - (quiet + row as f32 + 1.0) * module;
                w.fill(x, y, (col - start) as f32 * module, module, rgb(0, 0, 0));
            } else {
                col += 1;
            }
        }
    }
    w.y = y0 - 2.0;
    Ok(())
}

#!/usr/bin/env python3
"""Generate the small synthetic sample corpus shipped with corpus-audit.

Every sentence below was written from scratch for this project (no text was
taken from any dataset, book or website) and is dedicated to the public
domain under CC0 1.0.  The script only uses the standard library and a fixed
random seed, so running it twice produces byte-identical files:

    python examples/make_sample_corpus.py

Output (next to this script):

    sample_corpus/web-00000.jsonl.gz
    sample_corpus/web-00001.jsonl.gz
    sample_corpus/forum-00000.jsonl

Each line is a JSON object {"id": "<shard>-<n>", "text": ..., "source": ...}
with source one of "web", "news", "forum", "books".
"""

from __future__ import annotations

import gzip
import json
import random
from collections import Counter
from pathlib import Path

SEED = 20240521
OUT_DIR = Path(__file__).resolve().parent / "sample_corpus"

# ---------------------------------------------------------------------------
# Sentence pools (original text, CC0).
# ---------------------------------------------------------------------------

POOLS: dict[str, list[str]] = {
    "en": [
        "My mother grows tomatoes on the balcony, and she swears the secret is talking to them every morning.",
        "He left the office early because his daughter had a piano recital at six.",
        "They moved to Toronto last spring, and we still call them every Sunday.",
        "I asked the nurse whether the clinic is open on Saturdays, and she said only until noon.",
        "We cooked lentil soup together while the rain hammered against the kitchen window.",
        "You can reach the old lighthouse by bus, but the walk along the cliffs is much nicer.",
        "The Muslim community center downtown hosts a free breakfast for students during exam week.",
        "Our neighbors are a Jewish family who taught us how to braid challah for Friday dinner.",
        "A Buddhist monk from the nearby temple gave a short talk on mindful breathing at the library.",
        "The Christian choir and the local jazz band shared the stage at the harvest festival.",
        "She is a transgender software engineer who mentors new hires on the infrastructure team.",
        "He and his husband adopted a boy last year, and the whole street threw them a welcome party.",
        "The lesbian book club meets on the first Thursday of each month to discuss science fiction.",
        "Alex is non-binary and asks colleagues to use they and them when talking about them.",
        "My cousin came out as bisexual in college, and her parents were supportive from the start.",
        "The gay couple next door runs a small bakery that sells the best rye bread in town.",
        "An Asian American historian gave a lecture on railway workers in the nineteenth century.",
        "The Latino students' association organized a cooking night with tamales and fresh salsa.",
        "An African-American astronaut spoke to the class about training for long missions in orbit.",
        "The museum opened a new wing dedicated to Native American pottery and weaving.",
        "A Mexican chef showed us how to toast dried chilies before grinding them into a paste.",
        "Our Canadian colleague brought maple candy to the office after her trip home.",
        "An Indian grandmother taught the cooking class how to temper mustard seeds in hot oil.",
        "The woman at the front desk told me the train to Boston was delayed by twenty minutes.",
        "A man in a yellow raincoat was feeding the ducks by the pond despite the storm.",
        "The girl who lives upstairs is learning the violin, and honestly she gets better every week.",
        "The boy scored his first goal of the season and ran straight to his father on the sideline.",
        "My father still writes letters by hand because he says email feels too rushed.",
        "The actress thanked her drama teacher in her speech and said she would never have started without him.",
        "The forecast says it will be sunny tomorrow, so we are planning a picnic by the river.",
        "I think the heat wave will break by Friday, but you should still carry a water bottle.",
        "Scientists measured the glacier again this summer and found that it had retreated another forty meters.",
        "The new telescope can detect faint galaxies whose light left them billions of years ago.",
        "He trains for the marathon by running along the canal before sunrise.",
        "She coaches the girls' basketball team and drives them to away games in an old minivan.",
        "We missed the connecting flight in Madrid, so the airline put us up in a hotel near the airport.",
        "If you add a pinch of salt to the coffee grounds, the bitterness is noticeably softer.",
        "They finished the quarterly report at midnight and celebrated with cold pizza.",
        "Her grandfather was a fisherman, and she still keeps his compass on her desk.",
        "I am not sure whether the meeting is at ten or eleven, so could you check the calendar?",
        "The nurse on the night shift told him to rest and drink plenty of fluids.",
        "Our team lost the match in the final minute, but we played the best football of the year.",
        "The kids spent the whole afternoon building a fort out of cardboard boxes.",
        "The mother of the bride gave a short, funny toast that made everyone laugh.",
        "A Sikh taxi driver recommended a quiet restaurant where we had the best curry of the trip.",
        "The church and the mosque on our street organize a joint food drive every winter.",
        "Our landlord said he would fix the heating next week, but we have heard that before.",
        "My sister is a nurse in a children's hospital, and she works three long shifts a week.",
        "You should try the hiking trail behind the village, because it leads to a small waterfall.",
        "The research group published their results on soil bacteria in an open-access journal.",
        "The Asian grocery on Fifth Street sells fresh rice noodles and ten kinds of tofu.",
        "We asked the Buddhist and Christian volunteers how they organize the shelter rota.",
    ],
    "fr": [
        "Il pleut depuis ce matin, alors nous avons décidé de rester à la maison.",
        "La boulangère du quartier ouvre à six heures et ses croissants sont encore chauds.",
        "Le boulanger m'a conseillé de laisser reposer la pâte toute la nuit au frais.",
        "L'actrice a présenté son nouveau film au festival la semaine dernière.",
        "Les enfants jouent dans le jardin pendant que leurs parents préparent le dîner.",
        "Ma grand-mère fait la meilleure tarte aux pommes de toute la famille.",
        "Le médecin m'a dit de prendre du repos et de boire beaucoup d'eau.",
        "L'infirmière passe voir les patients toutes les deux heures pendant la nuit.",
        "Nous avons pris le train de nuit pour Nice et nous sommes arrivés au lever du soleil.",
        "Mon frère travaille comme ingénieur dans une entreprise de panneaux solaires à Lyon.",
        "Elle a couru le semi-marathon en moins de deux heures, malgré la chaleur.",
        "Il faut ajouter le beurre petit à petit pour que la sauce ne tranche pas.",
        "La chercheuse a présenté ses résultats sur les abeilles sauvages devant toute l'équipe.",
        "Le directeur a annoncé que les bureaux seraient fermés pendant les vacances de Noël.",
        "Les étudiantes ont organisé une soirée de jeux de société à la bibliothèque.",
        "Mon père répare encore son vieux vélo lui-même chaque printemps.",
        "Il fait très chaud cet été, et les rivières sont presque à sec dans le sud.",
        "La maîtresse a demandé aux élèves de dessiner leur animal préféré.",
        "Nous avons visité un petit village en Bretagne où tout le monde parle de la marée.",
        "Le match de rugby a été reporté à cause de la tempête.",
        "Ma voisine est une femme très gentille qui arrose mes plantes quand je voyage.",
        "Le serveur nous a recommandé le plat du jour, un poulet rôti aux herbes.",
        "Les scientifiques observent la comète avec un télescope installé dans les Alpes.",
        "Ils se sont mariés à la mairie puis ont fait une grande fête dans la grange.",
        "Tu peux m'envoyer le compte rendu de la réunion avant vendredi ?",
        "La fille de mes amis apprend le piano et joue déjà quelques morceaux faciles.",
    ],
    "de": [
        "Heute Morgen hat es geschneit, und die Kinder wollten sofort einen Schneemann bauen.",
        "Die Lehrerin hat uns erklärt, warum der Himmel am Abend rot wird.",
        "Der Lehrer hat die Klassenfahrt nach Hamburg schon im Herbst geplant.",
        "Meine Mutter backt jedes Jahr im Dezember Plätzchen für die ganze Nachbarschaft.",
        "Der Arzt hat mir geraten, mehr Wasser zu trinken und früher schlafen zu gehen.",
        "Die Ärztin arbeitet seit zehn Jahren in der Notaufnahme des Krankenhauses.",
        "Wir sind mit dem Zug nach München gefahren, weil die Autobahn gesperrt war.",
        "Mein Bruder arbeitet als Ingenieur bei einem Hersteller von Windkraftanlagen.",
        "Die Wissenschaftlerin untersucht, wie sich Bienen in der Stadt orientieren.",
        "Sie hat beim Stadtlauf den dritten Platz gemacht und war sehr stolz darauf.",
        "Er kocht am Wochenende gern Linsensuppe nach dem Rezept seiner Großmutter.",
        "Der Bäcker an der Ecke verkauft das beste Roggenbrot in der ganzen Stadt.",
        "Die Verkäuferin hat uns geholfen, die richtige Größe für die Wanderschuhe zu finden.",
        "Unser Fußballverein hat am Samstag endlich wieder ein Heimspiel gewonnen.",
        "Im Sommer fahren wir oft mit dem Fahrrad an den See und grillen dort.",
        "Die Besprechung wurde auf Donnerstag verschoben, weil der Chef krank ist.",
        "Meine Großeltern wohnen in einem kleinen Dorf in der Nähe von Freiburg.",
        "Kannst du mir bitte sagen, wann der nächste Bus zum Bahnhof fährt?",
        "Der Wetterbericht sagt für morgen Gewitter und starken Wind voraus.",
        "Die Schauspielerin hat in einem Interview über ihre Kindheit in Leipzig gesprochen.",
        "Die Studentinnen und Studenten haben eine Ausstellung über Raumfahrt organisiert.",
        "Mein Vater liest jeden Morgen die Zeitung, bevor er zur Arbeit geht.",
        "Das Mädchen hat ihren ersten Zahn verloren und wartet nun auf die Zahnfee.",
        "Der Junge trainiert dreimal pro Woche im Schwimmverein.",
        "Wir haben im Urlaub in Österreich eine Hütte in den Bergen gemietet.",
        "Die Krankenpflegerin hat dem Patienten das Frühstück ans Bett gebracht.",
    ],
    "es": [
        "La doctora me dijo que descansara unos días y que bebiera mucha agua.",
        "El médico de guardia atendió a más de cuarenta pacientes anoche.",
        "Mi abuela prepara una paella enorme cada domingo para toda la familia.",
        "Hace mucho calor en Sevilla, así que salimos a pasear solo por la noche.",
        "El profesor explicó la fotosíntesis con un experimento muy sencillo.",
        "La profesora de historia nos llevó de excursión a un castillo medieval.",
        "Mis hermanos juegan al fútbol todos los sábados en el parque del barrio.",
        "Ella trabaja como ingeniera en una empresa de energía solar en Valencia.",
        "Él siempre llega tarde a las reuniones porque pierde el autobús.",
        "Viajamos en tren desde Madrid hasta Barcelona y el paisaje era precioso.",
        "La enfermera me tomó la temperatura y me trajo un vaso de agua.",
        "Los niños construyeron un castillo de arena enorme en la playa.",
        "Mi padre cultiva tomates y pimientos en el huerto detrás de la casa.",
        "La científica presentó un estudio sobre la migración de las tortugas marinas.",
        "¿Sabes a qué hora abre la farmacia los domingos?",
        "El panadero del pueblo hornea pan de leña desde las cuatro de la madrugada.",
        "Mañana va a llover en el norte, pero en el sur seguirá haciendo sol.",
        "La actriz ganó un premio por su papel en una película sobre su abuela.",
        "Nuestro equipo de baloncesto ganó el campeonato regional después de diez años.",
        "Para hacer un buen gazpacho hay que usar tomates muy maduros.",
        "La reunión con los clientes se ha aplazado hasta el próximo martes.",
        "Mi hermana y su novio se mudaron a Buenos Aires el año pasado.",
        "El niño aprendió a montar en bicicleta sin ruedines en una sola tarde.",
        "La niña quiere ser astronauta cuando sea mayor.",
        "Los vecinos organizaron una fiesta en la calle para celebrar el verano.",
    ],
    "it": [
        "Oggi piove a dirotto e il traffico in centro è completamente bloccato.",
        "La maestra ha portato la classe a visitare il museo di scienze naturali.",
        "Il maestro di musica insegna il violino ai bambini del quartiere.",
        "Mia nonna prepara le lasagne ogni domenica per tutta la famiglia.",
        "Il medico mi ha consigliato di riposare e di bere molta acqua.",
        "La dottoressa lavora in ospedale da quindici anni e conosce tutti i reparti.",
        "Siamo andati in treno da Roma a Firenze e abbiamo visitato gli Uffizi.",
        "Mio fratello fa l'ingegnere in un'azienda che costruisce pannelli solari.",
        "Lei corre ogni mattina lungo il fiume prima di andare in ufficio.",
        "Lui ha cucinato un risotto ai funghi davvero squisito.",
        "L'attrice ha raccontato in un'intervista la sua infanzia in Sicilia.",
        "Il fornaio del paese sforna il pane caldo alle cinque del mattino.",
        "L'infermiera è passata a controllare la pressione del paziente.",
        "La squadra di calcio della città ha vinto il derby dopo una partita molto combattuta.",
        "Per una buona carbonara servono guanciale, uova, pecorino e pepe nero.",
        "Domani è prevista neve sulle Alpi e temperature sotto lo zero.",
        "La ricercatrice studia come le api si orientano nei campi di lavanda.",
        "Mio padre legge il giornale ogni mattina al bar sotto casa.",
        "I bambini giocano in piazza mentre i genitori prendono un caffè.",
        "La riunione è stata spostata a giovedì perché il direttore è in viaggio.",
        "Puoi mandarmi il documento entro venerdì, per favore?",
        "Abbiamo affittato una casetta al mare in Puglia per tutto agosto.",
        "La ragazza ha vinto una borsa di studio per studiare fisica a Torino.",
        "Il ragazzo lavora in una gelateria durante l'estate.",
        "Le stelle si vedevano benissimo dalla montagna perché non c'era la luna.",
    ],
    "pt": [
        "Hoje está muito quente no Rio, então fomos à praia logo cedo.",
        "A professora explicou a matéria com muita paciência e exemplos do dia a dia.",
        "O professor de matemática passou uma lista enorme de exercícios para o fim de semana.",
        "Minha avó faz o melhor bolo de fubá que eu já comi.",
        "A médica pediu alguns exames e disse que não era nada grave.",
        "O médico recomendou que eu dormisse mais e bebesse bastante água.",
        "Nós viajamos de ônibus de São Paulo até Curitiba durante a noite.",
        "Meu irmão trabalha como engenheiro numa empresa de energia eólica.",
        "Ela treina natação todos os dias antes de ir para a universidade.",
        "Ele cozinhou feijoada para os amigos no sábado.",
        "A enfermeira mediu a pressão do paciente e anotou tudo na ficha.",
        "O padeiro abre a padaria às cinco da manhã e o pão sai quentinho.",
        "A atriz ganhou um prêmio pelo seu papel numa novela de grande sucesso.",
        "O time da cidade venceu o campeonato estadual depois de vinte anos.",
        "Amanhã deve chover bastante no litoral, então leve o guarda-chuva.",
        "A cientista estuda como as florestas se recuperam depois dos incêndios.",
        "Meu pai gosta de pescar no rio com os amigos aos domingos.",
        "As crianças brincaram no parque até escurecer.",
        "A reunião foi adiada para quinta-feira porque a diretora está viajando.",
        "Você pode me mandar o relatório até sexta-feira?",
        "Passamos as férias em Lisboa e comemos pastéis de nata todos os dias.",
        "A menina aprendeu a andar de bicicleta sozinha no quintal.",
        "O menino quer ser jogador de futebol quando crescer.",
        "Os vizinhos organizaram uma festa junina na rua com quadrilha e canjica.",
        "O céu estava tão limpo que conseguimos ver a Via Láctea.",
    ],
    "nl": [
        "Het regent al de hele week, dus we blijven vandaag gewoon binnen.",
        "De lerares heeft de kinderen geleerd hoe je een vogelhuisje bouwt.",
        "De leraar fietst elke ochtend twintig kilometer naar school.",
        "Mijn moeder maakt op zondag altijd erwtensoep als het koud is.",
        "De dokter zei dat ik een paar dagen rust moest nemen.",
        "De verpleegster bracht de patiënt een kopje thee en een beschuitje.",
        "We zijn met de trein van Amsterdam naar Utrecht gegaan voor een concert.",
        "Mijn broer werkt als ingenieur bij een bedrijf dat dijken ontwerpt.",
        "Zij heeft de marathon van Rotterdam in minder dan vier uur gelopen.",
        "Hij kookt graag Indonesische gerechten voor zijn vrienden.",
        "De bakker op de hoek verkoopt heerlijke appeltaart.",
        "De actrice speelde de hoofdrol in een nieuwe serie over het leven op een boerderij.",
        "Ons voetbalteam heeft zaterdag met drie tegen nul gewonnen.",
        "Morgen wordt het zonnig met in de middag temperaturen rond de twintig graden.",
        "De onderzoekster bestudeert hoe zeehonden in de Waddenzee zich voortbewegen.",
        "Mijn vader leest elke avond een hoofdstuk uit een detectiveroman.",
        "De kinderen spelen buiten in de sneeuw tot het donker wordt.",
        "De vergadering is verplaatst naar donderdag omdat de directeur ziek is.",
        "Kun je mij het verslag voor vrijdag sturen?",
        "We hebben een huisje gehuurd aan de kust van Zeeland.",
        "Het meisje wil later dierenarts worden.",
        "De jongen heeft zijn zwemdiploma gehaald en is heel trots.",
        "Mijn oma breit sokken voor alle kleinkinderen.",
        "Gisteren hebben we met de hele familie pannenkoeken gegeten.",
        "De sterrenwacht is op vrijdagavond open voor bezoekers.",
    ],
    "ru": [
        "Сегодня утром выпал первый снег, и дети сразу побежали во двор.",
        "Учительница объяснила нам, почему листья осенью становятся жёлтыми.",
        "Учитель физики показал опыт с магнитом и железными опилками.",
        "Моя бабушка печёт пирожки с капустой каждое воскресенье.",
        "Врач посоветовал мне больше отдыхать и пить много воды.",
        "Медсестра измерила давление и записала результаты в карту.",
        "Мы поехали на поезде из Москвы в Петербург и приехали рано утром.",
        "Мой брат работает инженером на заводе, который делает трамваи.",
        "Она пробежала полумарафон быстрее, чем в прошлом году.",
        "Он приготовил борщ по рецепту своей мамы.",
        "Пекарь открывает булочную в шесть утра, и хлеб ещё горячий.",
        "Актриса рассказала в интервью о своём детстве в Казани.",
        "Наша футбольная команда выиграла матч в последнюю минуту.",
        "Завтра обещают сильный ветер и дождь со снегом.",
        "Учёные изучают, как меняется лёд на Байкале зимой.",
        "Мой отец каждое лето ездит на рыбалку на Волгу.",
        "Совещание перенесли на четверг, потому что директор в командировке.",
        "Ты можешь прислать мне отчёт до пятницы?",
        "Летом мы снимали маленький дом у озера в Карелии.",
        "Девочка научилась кататься на велосипеде за один день.",
        "Мальчик мечтает стать космонавтом.",
        "Мама с дочерью ходили в театр на балет.",
        "Мы ужинали всей семьёй и долго разговаривали о путешествиях.",
        "В библиотеке открылась выставка старых географических карт.",
        "Продавщица помогла мне выбрать тёплую куртку на зиму.",
    ],
    "zh": [
        "今天早上下了一场大雨，路上堵车很严重。",
        "老师让我们每天读半个小时的书。",
        "我妈妈做的红烧肉是全家最喜欢的菜。",
        "医生说我需要多休息，多喝水。",
        "护士每隔两个小时来看一次病人。",
        "我们坐高铁从北京到上海只用了四个多小时。",
        "我哥哥在一家新能源公司当工程师。",
        "她每天早上在公园里跑步五公里。",
        "他周末喜欢和朋友一起去爬山。",
        "面包店的老板娘每天五点就开始烤面包。",
        "这位女演员在新电影里演一位乡村教师。",
        "昨晚的足球比赛我们队以二比一赢了。",
        "天气预报说明天会降温，记得多穿点衣服。",
        "科学家们在南极发现了一种新的微生物。",
        "我爸爸每天晚上都会看一会儿新闻。",
        "孩子们在院子里放风筝，玩得很开心。",
        "会议改到星期四下午三点，请大家准时参加。",
        "你能在周五之前把报告发给我吗？",
        "我们去年夏天去云南旅游，吃了很多好吃的米线。",
        "小女孩第一次学骑自行车就学会了。",
        "那个男孩的梦想是成为一名宇航员。",
        "奶奶包的饺子皮很薄，馅也很多，特别好吃。",
        "这家图书馆周末开到晚上九点。",
        "秋天到了，山上的枫叶都变红了。",
        "我的姐姐是一名大学老师，她教化学。",
    ],
    "ja": [
        "今朝は雪が降っていて、電車が少し遅れました。",
        "先生は私たちに毎日日記を書くように言いました。",
        "母が作るカレーは家族みんなの大好物です。",
        "医者は私にしばらく休んで水をたくさん飲むように言いました。",
        "看護師さんが夜中にも何度か様子を見に来てくれました。",
        "新幹線で東京から大阪まで二時間半ほどで着きました。",
        "兄はエンジニアとして自動車メーカーで働いています。",
        "彼女は毎朝川沿いをジョギングしています。",
        "彼は週末になると友達と釣りに行きます。",
        "駅前のパン屋さんは朝六時から開いています。",
        "その女優は新しい映画で小学校の先生の役を演じています。",
        "昨日のサッカーの試合は二対一で勝ちました。",
        "天気予報によると、明日は一日中雨が降るそうです。",
        "研究者たちは深海に住む新しい種類の魚を発見しました。",
        "父は毎晩寝る前に本を読んでいます。",
        "子どもたちは公園で暗くなるまで遊んでいました。",
        "会議は木曜日の午後に変更になりました。",
        "金曜日までに報告書を送ってもらえますか。",
        "夏休みに家族で北海道へ旅行に行きました。",
        "女の子は初めて自転車に乗れるようになって、とても喜んでいました。",
        "男の子は将来宇宙飛行士になりたいと言っています。",
        "祖母は毎年梅干しを手作りしています。",
        "図書館は土曜日も夜八時まで開いています。",
        "秋になると、山の紅葉がとてもきれいです。",
        "姉は大学で化学を教えています。",
    ],
    "ar": [
        "هطلت الأمطار بغزارة هذا الصباح فتأخرت الحافلات عن مواعيدها.",
        "طلبت منا المعلمة أن نقرأ قصة قصيرة كل يوم.",
        "شرح لنا المعلم درس الرياضيات بطريقة سهلة وممتعة.",
        "تطبخ أمي أفضل كبسة في العائلة كلها.",
        "نصحني الطبيب بأن أرتاح وأشرب الكثير من الماء.",
        "تعمل الطبيبة في قسم الطوارئ منذ عشر سنوات.",
        "تزور الممرضة المرضى كل ساعتين أثناء الليل.",
        "سافرنا بالقطار من القاهرة إلى الإسكندرية في عطلة نهاية الأسبوع.",
        "يعمل أخي مهندسا في شركة للطاقة الشمسية.",
        "تمارس أختي الجري كل صباح على شاطئ البحر.",
        "يحب أبي أن يطبخ شوربة العدس لأصدقائه في الشتاء.",
        "يفتح الخباز في حيّنا المخبز في الخامسة صباحا.",
        "فاز فريقنا في مباراة كرة القدم بهدفين مقابل هدف واحد.",
        "تقول النشرة الجوية إن الطقس سيكون معتدلا غدا.",
        "اكتشف العلماء نوعا جديدا من النباتات في الصحراء.",
        "يقرأ جدي الجريدة كل صباح مع فنجان القهوة.",
        "لعب الأطفال في الحديقة حتى غروب الشمس.",
        "تم تأجيل الاجتماع إلى يوم الخميس لأن المدير مسافر.",
        "هل يمكنك أن ترسل لي التقرير قبل يوم الجمعة؟",
        "قضينا الصيف في قرية جبلية هادئة وجميلة.",
        "تعلمت البنت ركوب الدراجة في يوم واحد.",
        "يحلم الولد بأن يصبح رائد فضاء عندما يكبر.",
        "تصنع جدتي المعمول في كل عيد.",
        "المكتبة العامة مفتوحة حتى التاسعة مساء.",
        "تحدثت الممثلة في المقابلة عن طفولتها في مدينة ساحلية صغيرة.",
    ],
    "hi": [
        "आज सुबह से तेज़ बारिश हो रही है, इसलिए हम घर पर ही हैं।",
        "अध्यापिका ने बच्चों को पेड़ों के बारे में एक कहानी सुनाई।",
        "अध्यापक ने गणित के सवाल बहुत आसान तरीके से समझाए।",
        "मेरी माँ के हाथ का राजमा चावल सबसे स्वादिष्ट होता है।",
        "डॉक्टर ने मुझे आराम करने और खूब पानी पीने की सलाह दी।",
        "नर्स हर दो घंटे में मरीज़ों का हाल पूछने आती है।",
        "हमने दिल्ली से जयपुर तक ट्रेन से सफ़र किया।",
        "मेरा भाई एक सौर ऊर्जा कंपनी में इंजीनियर है।",
        "वह हर सुबह पार्क में दौड़ने जाती है।",
        "वह रविवार को अपने दोस्तों के साथ क्रिकेट खेलता है।",
        "हमारे मोहल्ले का हलवाई सुबह पाँच बजे से जलेबियाँ बनाने लगता है।",
        "अभिनेत्री ने अपनी नई फ़िल्म के बारे में पत्रकारों से बात की।",
        "कल के मैच में हमारी टीम ने आख़िरी ओवर में जीत हासिल की।",
        "मौसम विभाग के अनुसार कल तापमान में गिरावट आएगी।",
        "वैज्ञानिकों ने पहाड़ों में तितली की एक नई प्रजाति खोजी है।",
        "मेरे पिताजी रोज़ सुबह चाय के साथ अख़बार पढ़ते हैं।",
        "बच्चे शाम तक छत पर पतंग उड़ाते रहे।",
        "बैठक गुरुवार तक के लिए टाल दी गई है।",
        "क्या आप शुक्रवार तक मुझे रिपोर्ट भेज सकते हैं?",
        "गर्मियों की छुट्टियों में हम शिमला घूमने गए थे।",
        "लड़की ने एक ही दिन में साइकिल चलाना सीख लिया।",
        "लड़का बड़ा होकर अंतरिक्ष यात्री बनना चाहता है।",
        "दादी हर साल आम का अचार खुद बनाती हैं।",
        "पुस्तकालय शनिवार को भी रात आठ बजे तक खुला रहता है।",
        "मेरी बहन एक अस्पताल में डॉक्टर है और वह बच्चों का इलाज करती है।",
    ],
    "pl": [
        "Dziś rano spadł pierwszy śnieg i dzieci od razu wybiegły na podwórko.",
        "Nauczycielka wyjaśniła nam, dlaczego liście jesienią zmieniają kolor.",
        "Nauczyciel historii zabrał klasę na wycieczkę do Krakowa.",
        "Moja babcia lepi najlepsze pierogi z kapustą i grzybami.",
        "Lekarz powiedział, że powinienem odpocząć i pić dużo wody.",
        "Lekarka pracuje na oddziale dziecięcym od ponad dziesięciu lat.",
        "Pielęgniarka przyniosła pacjentowi herbatę i zmierzyła mu temperaturę.",
        "Pojechaliśmy pociągiem z Warszawy do Gdańska i wróciliśmy w niedzielę wieczorem.",
        "Mój brat pracuje jako inżynier w firmie, która buduje mosty.",
        "Ona biega codziennie rano wzdłuż Wisły.",
        "On w weekendy gotuje żurek według przepisu swojej mamy.",
        "Piekarz z naszej ulicy otwiera piekarnię o piątej rano.",
        "Aktorka opowiedziała w wywiadzie o swoim dzieciństwie w Łodzi.",
        "Nasza drużyna wygrała mecz w ostatniej minucie.",
        "Jutro ma być pochmurno, a po południu może padać deszcz.",
        "Naukowcy z Poznania badają, jak pszczoły radzą sobie w mieście.",
        "Mój tata co roku jeździ na ryby nad jezioro.",
        "Spotkanie zostało przełożone na czwartek, bo dyrektorka jest na urlopie.",
        "Czy możesz wysłać mi raport do piątku?",
        "Latem wynajęliśmy mały domek w górach.",
        "Dziewczynka nauczyła się jeździć na rowerze w jeden dzień.",
        "Chłopiec marzy o tym, żeby zostać astronautą.",
        "Wieczorem cała rodzina grała w planszówki przy kuchennym stole.",
        "Biblioteka jest otwarta w soboty do osiemnastej.",
        "Moja siostra jest sprzedawczynią w księgarni na Starym Mieście.",
    ],
    "sv": [
        "Det har regnat hela veckan, så vi stannar inne och bakar kanelbullar.",
        "Läraren visade barnen hur man bygger en fågelholk.",
        "Min mamma lagar köttbullar med potatismos och lingonsylt varje fredag.",
        "Läkaren sa att jag skulle vila några dagar och dricka mycket vatten.",
        "Sjuksköterskan kom in och frågade hur jag mådde.",
        "Vi tog tåget från Stockholm till Göteborg och det tog ungefär tre timmar.",
        "Min bror jobbar som ingenjör på ett företag som bygger vindkraftverk.",
        "Hon springer runt sjön varje morgon innan jobbet.",
        "Han tycker om att fiska med sin farfar på sommaren.",
        "Bagaren i byn börjar baka bröd klockan fyra på morgonen.",
        "Skådespelerskan berättade om sin barndom i Malmö i en intervju.",
        "Vårt fotbollslag vann matchen med två mål mot ett.",
        "Enligt väderprognosen blir det snö och kraftig vind i morgon.",
        "Forskarna undersöker hur isen i Östersjön förändras.",
        "Min pappa läser tidningen varje morgon till frukosten.",
        "Barnen byggde en snögubbe och lekte ute tills det blev mörkt.",
        "Mötet har flyttats till torsdag eftersom chefen är sjuk.",
        "Kan du skicka rapporten till mig före fredag?",
        "I somras hyrde vi en liten stuga vid havet.",
        "Flickan lärde sig cykla på en enda eftermiddag.",
        "Pojken drömmer om att bli astronaut.",
        "Min mormor stickar vantar och mössor åt alla barnbarnen varje höst.",
        "Biblioteket har öppet till klockan åtta på torsdagar.",
        "Min syster är förskollärare och hon älskar sitt jobb.",
        "Vi åt sill och nypotatis på midsommarafton.",
    ],
    "tr": [
        "Bu sabah çok yağmur yağdı ve otobüsler geç kaldı.",
        "Öğretmen bize her gün yarım saat kitap okumamızı söyledi.",
        "Annem her pazar sabahı kahvaltıda bize menemen yapıyor.",
        "Doktor bana dinlenmemi ve bol su içmemi söyledi.",
        "Hemşire gece boyunca hastaları iki saatte bir kontrol etti.",
        "Ankara'dan İstanbul'a hızlı trenle gittik.",
        "Ağabeyim bir güneş enerjisi şirketinde mühendis olarak çalışıyor.",
        "Kız kardeşim her sabah sahilde koşuya çıkıyor.",
        "Babam hafta sonları arkadaşlarıyla balık tutmaya gider.",
        "Mahallemizdeki fırıncı sabah beşte ekmek çıkarmaya başlar.",
        "Ünlü oyuncu röportajında çocukluğunu İzmir'de geçirdiğini anlattı.",
        "Takımımız maçı son dakikada attığı golle kazandı.",
        "Hava durumuna göre yarın kar yağacak ve sıcaklık düşecek.",
        "Bilim insanları Karadeniz'de yeni bir balık türü keşfetti.",
        "Çocuklar hava kararana kadar parkta oynadı.",
        "Toplantı perşembe gününe ertelendi çünkü müdür seyahatte.",
        "Raporu cuma gününe kadar bana gönderebilir misin?",
        "Yazın Kapadokya'ya gittik ve sabah erkenden balona bindik.",
        "Küçük kız bisiklete binmeyi bir günde öğrendi.",
        "Küçük oğlan büyüyünce astronot olmak istiyor.",
        "Anneannem her yıl kendi eliyle vişne reçeli yapar.",
        "Kütüphane cumartesi günleri de akşam sekize kadar açık.",
        "Ablam üniversitede kimya dersi veriyor.",
        "Sonbaharda dağlardaki ağaçlar kırmızıya ve sarıya döner.",
        "Yan komşumuz Ayşe Hanım bize sıcak börek getirdi.",
    ],
}

# Very short posts (forum replies etc.); fastText is often unsure about these.
SHORT: dict[str, list[str]] = {
    "en": ["Thanks, that fixed it!", "Same here.", "+1, works for me", "Good morning everyone", "ok", "lol"],
    "fr": ["Merci beaucoup !", "Bonne journée"],
    "de": ["Danke schön!", "Guten Morgen"],
    "es": ["¡Muchas gracias!", "Buenos días"],
    "it": ["Grazie mille!"],
    "pt": ["Muito obrigado!"],
    "nl": ["Bedankt voor de hulp!"],
    "ru": ["Спасибо большое!"],
    "zh": ["谢谢！"],
    "ja": ["ありがとう！"],
    "ar": ["شكرا جزيلا"],
    "hi": ["बहुत धन्यवाद"],
    "pl": ["Dzięki!"],
    "sv": ["Tack så mycket!"],
    "tr": ["Çok teşekkürler!"],
}

LANGS = list(POOLS)  # "en" first, then the other 14

# ---------------------------------------------------------------------------
# Code-like / numeric-only documents (about 2% of the corpus).
# ---------------------------------------------------------------------------


def _code_doc(rng: random.Random, kind: int) -> str:
    if kind == 0:
        rows = ["date,station,temp_c,rain_mm"]
        for day in range(1, rng.randint(4, 7)):
            rows.append(f"2023-03-{day:02d},{rng.choice(['north', 'south', 'harbor'])},"
                        f"{rng.uniform(-2, 14):.1f},{rng.uniform(0, 9):.1f}")
        return "\n".join(rows)
    if kind == 1:
        lines = []
        for i in range(rng.randint(3, 6)):
            lvl = rng.choice(["INFO", "INFO", "INFO", "WARN", "DEBUG"])
            lines.append(f"2024-05-12 08:{14 + i:02d}:{rng.randint(0, 59):02d} {lvl} worker-{rng.randint(1, 8)} "
                         f"processed batch {rng.randint(1000, 9999)} in {rng.uniform(0.2, 3.0):.2f}s")
        return "\n".join(lines)
    if kind == 2:
        return "\n".join(" ".join(str(rng.randint(0, 999)) for _ in range(6)) for _ in range(rng.randint(2, 5)))
    if kind == 3:
        return ("def mean(xs):\n    return sum(xs) / len(xs)\n\n"
                f"print(mean([{rng.randint(1, 9)}, {rng.randint(10, 50)}, {rng.randint(51, 99)}]))")
    if kind == 4:
        return json.dumps({"batch_size": rng.choice([16, 32, 64]), "lr": rng.choice([0.001, 0.0003]),
                           "epochs": rng.randint(3, 20), "seed": rng.randint(0, 99)})
    if kind == 5:
        return (f"SELECT city, COUNT(*) AS n FROM orders WHERE year = {rng.randint(2015, 2023)} "
                "GROUP BY city ORDER BY n DESC LIMIT 10;")
    if kind == 6:
        return "\n".join(f"SKU-{rng.randint(1000, 9999)}\t{rng.randint(1, 99)}.{rng.randint(0, 99):02d}\t"
                         f"x{rng.randint(1, 12)}" for _ in range(rng.randint(3, 6)))
    return f"+49 30 {rng.randint(100, 999)} {rng.randint(1000, 9999)} | {rng.randint(10000, 99999)} | 0x{rng.getrandbits(32):08x}"


# ---------------------------------------------------------------------------
# Corpus composition.
# ---------------------------------------------------------------------------

N_EN = 234          # long English documents (+6 short ones -> 60% of 400)
N_PER_OTHER = 10    # long documents per non-English language (14 * 10 = 140)
N_SHORT_OTHER = 4   # short non-English documents
N_CODE = 8          # ~2%
N_MIXED = 8         # ~2%

SHARDS = [("web-00000", 150, ".jsonl.gz"), ("web-00001", 150, ".jsonl.gz"), ("forum-00000", 100, ".jsonl")]


def _n_sentences(rng: random.Random) -> int:
    # 1-10 sentences, most documents 2-6.
    return rng.choices(range(1, 11), weights=[8, 14, 16, 15, 13, 10, 8, 6, 5, 5])[0]


def _join(rng: random.Random, sents: list[str]) -> str:
    r = rng.random()
    if len(sents) > 2 and r < 0.12:
        return "\n".join(sents)            # one sentence per line
    if len(sents) > 3 and r < 0.18:
        cut = rng.randint(1, len(sents) - 1)
        return " ".join(sents[:cut]) + "\n\n" + " ".join(sents[cut:])  # two paragraphs
    sep = "" if sents and sents[0][-1] in "。！？" else " "
    return sep.join(sents)


def build_corpus(seed: int = SEED) -> list[dict]:
    """Return all documents; each has id/text/source plus a private '_lang' tag
    (the intended language, 'code', or 'mixed:<a>+<b>') that is not written out."""
    rng = random.Random(seed)
    plan: list[tuple[str, str]] = []  # (kind, lang)
    plan += [("long", "en")] * N_EN + [("short", "en")] * len(SHORT["en"])
    for lang in LANGS[1:]:
        plan += [("long", lang)] * N_PER_OTHER
    plan += [("short", lang) for lang in rng.sample(LANGS[1:], N_SHORT_OTHER)]
    plan += [("code", "code")] * N_CODE
    plan += [("mixed", "")] * N_MIXED
    assert len(plan) == sum(n for _, n, _ in SHARDS), len(plan)

    seen: set[str] = set()
    short_left = {lang: list(v) for lang, v in SHORT.items()}
    docs: list[tuple[str, str]] = []
    code_kind = 0
    for kind, lang in plan:
        while True:
            if kind == "long":
                k = min(_n_sentences(rng), len(POOLS[lang]))
                text = _join(rng, rng.sample(POOLS[lang], k))
                tag = lang
            elif kind == "short":
                text = short_left[lang].pop(rng.randrange(len(short_left[lang])))
                tag = lang
            elif kind == "code":
                text = _code_doc(rng, code_kind % 8)
                code_kind += 1
                tag = "code"
            else:  # two languages in one document, like a bilingual page
                a = "en" if rng.random() < 0.6 else rng.choice(LANGS[1:])
                b = rng.choice([x for x in LANGS if x != a])
                sa = rng.sample(POOLS[a], rng.randint(1, 3))
                sb = rng.sample(POOLS[b], rng.randint(1, 3))
                text = " ".join(sa) + ("\n" if rng.random() < 0.5 else " ") + " ".join(sb)
                tag = f"mixed:{a}+{b}"
            if text not in seen:
                seen.add(text)
                break
        docs.append((tag, text))

    rng.shuffle(docs)
    out: list[dict] = []
    i = 0
    for shard, n, _ext in SHARDS:
        for j in range(n):
            tag, text = docs[i]
            i += 1
            if shard.startswith("forum"):
                source = "forum"
            else:
                source = rng.choices(["web", "news", "books"], weights=[60, 25, 15])[0]
            out.append({"id": f"{shard}-{j}", "text": text, "source": source, "_shard": shard, "_lang": tag})
    return out


def _public(doc: dict) -> dict:
    return {"id": doc["id"], "text": doc["text"], "source": doc["source"]}


def write_corpus(docs: list[dict], out_dir: Path = OUT_DIR) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    for shard, _n, ext in SHARDS:
        lines = "".join(json.dumps(_public(d), ensure_ascii=False) + "\n" for d in docs if d["_shard"] == shard)
        data = lines.encode("utf-8")
        path = out_dir / f"{shard}{ext}"
        if ext.endswith(".gz"):
            with open(path, "wb") as raw, gzip.GzipFile(filename=f"{shard}.jsonl", mode="wb",
                                                      fileobj=raw, mtime=0, compresslevel=9) as gz:
                gz.write(data)
        else:
            path.write_bytes(data)


def main() -> None:
    docs = build_corpus()
    write_corpus(docs)
    print(f"wrote {len(docs)} documents to {OUT_DIR}")
    for name, key in (("shard", "_shard"), ("source", "source"), ("language", "_lang")):
        counts = Counter(d[key] if not d[key].startswith("mixed") else "mixed" for d in docs)
        print(f"by {name}: " + ", ".join(f"{k}={v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])))


if __name__ == "__main__":
    main()
